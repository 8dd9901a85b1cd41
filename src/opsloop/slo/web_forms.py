"""SLO writes from the browser: create a pushed SLO, apply a spec, reset, delete, budget policy.

Each form needs the same role as the API route that does the same write and calls the same
service function; bad input comes back as the form with the message next to the field.
"""

from __future__ import annotations

from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from opsloop.core import api_errors
from opsloop.core.auth.roles import Role
from opsloop.core.auth.sessions import ActiveSession
from opsloop.core.errors import NotFound, OpsloopError, ValidationFailed
from opsloop.core.schemas import Id
from opsloop.slo import budget_policies
from opsloop.slo import service as slo_service
from opsloop.slo.deps import evaluate_applied
from opsloop.slo.schemas import MAX_SPEC_BYTES, PushedSLOCreate
from opsloop.slo.spec.checks import SpecError
from opsloop.slo.spec.yaml_io import load_documents
from opsloop.slo.web_context import detail_context
from opsloop.web.routes import DB, Active, form_error, render, signed_in_as, writing_as

router = APIRouter(include_in_schema=False)

#: The role each write needs: the same as its API route (POST /slos, /slos/apply, ...).
ROLES = {
    "create": Role.approver,
    "apply": Role.approver,
    "reset": Role.admin,
    "delete": Role.admin,
    "policy": Role.admin,
}
PUSHED_FIELDS = ("service", "name", "objective", "window", "time_zone", "sli_kind")


def _page(role: str) -> Any:
    return Depends(signed_in_as(ROLES[role]))


def _write(role: str) -> Any:
    return Depends(writing_as(ROLES[role]))


def _new_page(
    request: Request, active: ActiveSession, status_code: int = 200, **ctx: Any
) -> Response:
    form = {"window": "30d", "time_zone": "UTC", "sli_kind": "availability", **ctx.pop("form", {})}
    return render(request, "slo_new.html", active, status_code, form=form, slo_roles=ROLES, **ctx)


@router.get("/slos/new", response_class=HTMLResponse)
def new_slo(request: Request, active: Annotated[ActiveSession, _page("create")]) -> Response:
    return _new_page(request, active)


def _number(text: str) -> float | str:
    """A form's number as the JSON API would receive it; text that is none stays text, so the
    schema names the field."""
    try:
        return float(text.strip())
    except ValueError:
        return text.strip()


def _pydantic_error(exc: ValidationError) -> ValidationFailed:
    first = exc.errors()[0]
    field = api_errors.field_path(first.get("loc", ()))
    return ValidationFailed(f"{field}: {api_errors.reason(first)}", field=field)


@router.post("/slos/new", response_class=HTMLResponse)
def create_pushed(
    request: Request,
    db: DB,
    active: Annotated[ActiveSession, _write("create")],
    service: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    objective: Annotated[str, Form()] = "",
    window: Annotated[str, Form()] = "30d",
    time_zone: Annotated[str, Form()] = "UTC",
    sli_kind: Annotated[str, Form()] = "availability",
    description: Annotated[str, Form()] = "",
    owner: Annotated[str, Form()] = "",
) -> Response:
    form = {
        "service": service.strip(),
        "name": name.strip(),
        "objective": objective.strip(),
        "window": window.strip(),
        "time_zone": time_zone.strip(),
        "sli_kind": sli_kind,
        "description": description.strip(),
        "owner": owner.strip(),
    }
    try:
        try:
            body = PushedSLOCreate.model_validate({**form, "objective": _number(objective)})
        except ValidationError as exc:
            raise _pydantic_error(exc) from None
        with db.write() as session:
            applied = slo_service.apply_definition(
                session,
                principal=active.principal,
                defn=slo_service.pushed_definition(**body.model_dump()),
            )
    except OpsloopError as exc:
        return _new_page(
            request, active, exc.status, form=form, error_for="create", **form_error(exc)
        )
    evaluate_applied(request, [applied])
    return RedirectResponse(f"/slos/{applied.slo_id}", status_code=303)


@router.post("/slos/apply", response_class=HTMLResponse)
async def apply_spec(
    request: Request,
    db: DB,
    active: Annotated[ActiveSession, _write("apply")],
    spec: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    source = "pasted spec"
    text = spec
    try:
        if file is not None and file.filename:
            raw = await file.read(MAX_SPEC_BYTES + 1)
            if len(raw) > MAX_SPEC_BYTES:
                raise ValidationFailed("spec is larger than 1 MB", field="file")
            try:
                text, source = raw.decode("utf-8"), file.filename
            except UnicodeDecodeError:
                raise ValidationFailed("spec must be UTF-8", field="file") from None
        if not text.strip():
            raise ValidationFailed("paste a spec or choose a YAML file", field="spec")
        with db.write() as session:
            applied = slo_service.apply_specs(
                session, principal=active.principal, text=text, source=source
            )
    except OpsloopError as exc:
        return _new_page(
            request, active, exc.status, spec=spec, error_for="apply", **form_error(exc)
        )
    await run_in_threadpool(evaluate_applied, request, applied)
    return _new_page(request, active, applied=applied)


@router.get("/slos/{slo_id}/delete", response_class=HTMLResponse)
def confirm_delete(
    request: Request, slo_id: Id, db: DB, active: Annotated[ActiveSession, _page("delete")]
) -> Response:
    with db.read() as session:
        slo = slo_service.get_slo(session, ref=slo_id)
    return render(request, "slo_delete.html", active, slo=slo)


@router.post("/slos/{slo_id}/delete", response_class=HTMLResponse)
def delete(
    request: Request,
    slo_id: Id,
    db: DB,
    active: Annotated[ActiveSession, _write("delete")],
    confirm: Annotated[str, Form()] = "",
) -> Response:
    with db.read() as session:
        slo = slo_service.get_slo(session, ref=slo_id)
    label = f"{slo.service}/{slo.name}"
    if confirm.strip() != label:
        error = ValidationFailed(f"type {label} to confirm", field="confirm")
        return render(request, "slo_delete.html", active, 422, slo=slo, **form_error(error))
    with db.write() as session:
        slo_service.delete_slo(session, principal=active.principal, ref=slo_id)
    return RedirectResponse("/slos", status_code=303)


@router.post("/slos/{slo_id}/reset", response_class=HTMLResponse)
def reset(
    request: Request,
    slo_id: Id,
    db: DB,
    active: Annotated[ActiveSession, _write("reset")],
    reason: Annotated[str, Form()] = "",
) -> Response:
    try:
        with db.write() as session:
            slo_service.reset_budget(session, principal=active.principal, ref=slo_id, reason=reason)
    except OpsloopError as exc:
        context = detail_context(request, db, slo_id)
        return render(
            request,
            "slo_detail.html",
            active,
            exc.status,
            reason=reason,
            slo_roles=ROLES,
            **context,
            **form_error(exc),
        )
    return RedirectResponse(f"/slos/{slo_id}#periods", status_code=303)


def _policy_page(
    request: Request, db: DB, active: ActiveSession, service: str, status: int = 200, **ctx: Any
) -> Response:
    with db.read() as session:
        members = slo_service.list_slos(session, service=service)
        tiers = budget_policies.policy_config(budget_policies.policy_for(session, service=service))
    if not members:
        raise NotFound(f"no SLOs for service {service!r}", field="service")
    text = ctx.pop("text", None) or yaml.safe_dump({"tiers": tiers}, sort_keys=False)
    return render(
        request,
        "slo_policy.html",
        active,
        status,
        service=service,
        members=members,
        tiers=tiers,
        text=text,
        slo_roles=ROLES,
        **ctx,
    )


@router.get("/services/{service}/policy", response_class=HTMLResponse)
def policy_page(request: Request, service: str, db: DB, active: Active) -> Response:
    return _policy_page(request, db, active, service)


@router.post("/services/{service}/policy", response_class=HTMLResponse)
def set_policy(
    request: Request,
    service: str,
    db: DB,
    active: Annotated[ActiveSession, _write("policy")],
    tiers: Annotated[str, Form()] = "",
) -> Response:
    try:
        try:
            # The loader `slo apply` and `slo policy set` use: nesting limit, line and column.
            documents = load_documents(tiers, "policy")
        except SpecError as exc:
            where = "; ".join(problem.reason for problem in exc.problems)
            raise ValidationFailed(f"policy is not valid YAML: {where}", field="tiers") from None
        config = documents[0] if len(documents) == 1 else None
        if not isinstance(config, dict):
            raise ValidationFailed("policy needs a 'tiers:' list", field="tiers")
        with db.write() as session:
            budget_policies.set_policy(
                session, principal=active.principal, service=service, config=config
            )
    except OpsloopError as exc:
        return _policy_page(request, db, active, service, exc.status, text=tiers, **form_error(exc))
    return _policy_page(request, db, active, service, saved=True)
