from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool

from opsloop.core import clock, group_commit
from opsloop.core.api_errors import error_body
from opsloop.core.counters import serve_kept
from opsloop.core.db import Database
from opsloop.core.deps import (
    Admin,
    Approver,
    ReadSession,
    Responder,
    Viewer,
    WriteSession,
)
from opsloop.core.errors import NotFound, ValidationFailed
from opsloop.core.requestctx import current_request_id
from opsloop.core.schemas import (
    AUTHENTICATED,
    PLAIN_PATTERN,
    WITH_BODY,
    ErrorOut,
    Id,
    Page,
    PageQuery,
    errors,
    page_of,
    plain_params,
    tidy,
)
from opsloop.core.yaml_body import read_yaml_body
from opsloop.slo import api_json, budget_policies, charts, evaluation, ingestion, listing
from opsloop.slo import service as slo_service
from opsloop.slo.deps import evaluate_applied, prometheus_client
from opsloop.slo.listing import GENERATION
from opsloop.slo.rules import generate_rule_file
from opsloop.slo.schemas import (
    DNS_LABEL,
    AlertEventOut,
    AppliedOut,
    BulkEventBatch,
    EventBatch,
    PeriodOut,
    PolicyIn,
    PushedSLOCreate,
    PushResult,
    ResetIn,
    SLOOut,
)
from opsloop.slo.sources import Source

router = APIRouter(
    prefix="/api/v1",
    tags=["SLOs"],
    responses=AUTHENTICATED,
    dependencies=[Depends(plain_params)],
)
ServiceFilter = Annotated[str | None, Query(max_length=63, pattern=PLAIN_PATTERN)]
StateFilter = Annotated[
    str | None, Query(max_length=32, pattern=PLAIN_PATTERN, description="a policy state")
]
SearchFilter = Annotated[
    str | None,
    Query(max_length=127, pattern=PLAIN_PATTERN, description="part of the name or service"),
]
ServicePath = Annotated[str, Path(max_length=63, pattern=DNS_LABEL)]
NOT_FOUND = errors(404)
YAML_BODY = {"type": "string", "description": "OpenSLO v1 or Sloth prometheus/v1 YAML"}
# Parsed, the YAML is an OpenSLO/Sloth document or rule file (or a stream of documents).
YAML_OUT = {"application/yaml": {"schema": {"description": "YAML text"}}}


def applied_out(applied: slo_service.Applied) -> AppliedOut:
    return AppliedOut(
        id=applied.slo_id, service=applied.service, name=applied.name, outcome=applied.outcome
    )


def _created_or_ok(response: Response, applied: list[slo_service.Applied]) -> None:
    """201 when something new exists afterwards, 200 for an update or an unchanged re-send."""
    created = any(a.outcome == "created" for a in applied)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK


def _applied_responses(model: Any) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"model": model, "description": "updated or unchanged (outcome says which)"},
        201: {"model": model, "description": "created"},
    }


def _json(body: bytes | str) -> Response:
    return Response(body, media_type="application/json")


@router.get(
    "/slos",
    response_class=JSONResponse,
    responses={200: {"model": Page[SLOOut], "description": "a page of SLOs, in id order"}},
)
async def list_slos(
    request: Request,
    _: Viewer,
    paging: PageQuery,
    service: ServiceFilter = None,
    policy_state: StateFilter = None,
    source: Source | None = None,
    search: SearchFilter = None,
) -> Response:
    flt = listing.SLOFilter(
        service=service, policy_state=policy_state, source=source, search=search
    )

    def page(conn: Connection) -> bytes:
        rows = listing.rows_by_id(conn, flt=flt, after_id=paging.after, limit=paging.limit + 1)
        return api_json.page_json(rows, paging.limit)

    key = ("api/slos", flt, paging.after, paging.limit)
    return _json(await serve_kept(request, GENERATION, key, page))


@router.post(
    "/slos/apply",
    response_model=list[AppliedOut],
    responses={**_applied_responses(list[AppliedOut]), **WITH_BODY, **errors(415)},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {"schema": YAML_BODY},
                "text/plain": {"schema": YAML_BODY},
            },
        }
    },
)
async def apply_specs(
    request: Request, response: Response, principal: Approver
) -> list[AppliedOut]:
    """Apply OpenSLO v1 or Sloth prometheus/v1 YAML (multi-document): all or nothing."""
    text = await read_yaml_body(request, "spec")
    db: Database = request.app.state.db
    with db.write() as session:
        applied = slo_service.apply_specs(
            session, principal=principal, text=text, source="request body"
        )
        if not applied:
            raise ValidationFailed("the spec holds no SLO (nothing was applied)", field="body")
    await run_in_threadpool(evaluate_applied, request, applied)
    _created_or_ok(response, applied)
    return [applied_out(a) for a in applied]


@router.post(
    "/slos",
    response_model=AppliedOut,
    status_code=status.HTTP_201_CREATED,
    responses={**_applied_responses(AppliedOut), **WITH_BODY},
)
def create_pushed(
    body: PushedSLOCreate, response: Response, principal: Approver, request: Request
) -> AppliedOut:
    defn = slo_service.pushed_definition(**body.model_dump())
    db: Database = request.app.state.db
    with db.write() as session:
        applied = slo_service.apply_definition(session, principal=principal, defn=defn)
    evaluate_applied(request, [applied])
    _created_or_ok(response, [applied])
    return applied_out(applied)


@router.get(
    "/slos/export",
    response_class=Response,
    responses={200: {"content": YAML_OUT, "description": "one YAML document per SLO"}},
)
def export_specs(
    _: Viewer,
    session: ReadSession,
    format: Literal["openslo", "sloth"] = "openslo",
    service: ServiceFilter = None,
) -> Response:
    return Response(
        slo_service.export_specs(session, fmt=format, service=service),
        media_type="application/yaml",
    )


@router.get(
    "/slos/rules",
    response_class=Response,
    responses={200: {"content": YAML_OUT, "description": "a Prometheus rule file"}},
)
def rules(_: Viewer, session: ReadSession, service: ServiceFilter = None) -> Response:
    """Prometheus recording and alert rules for every Prometheus-sourced SLO."""
    defs = [
        slo_service.definition(s)
        for s in slo_service.list_slos(session, service=service)
        if s.source != "push"
    ]
    return Response(generate_rule_file(defs), media_type="application/yaml")


@router.get(
    "/slos/{slo_id:int}",
    response_class=JSONResponse,
    responses={200: {"model": SLOOut, "description": "the SLO"}, **NOT_FOUND},
)
def get_slo(slo_id: Id, _: Viewer, session: ReadSession) -> Response:
    row = listing.row_by_id(session, slo_id=slo_id)
    if row is None:
        raise NotFound(f"no SLO {slo_id!r}", field="slo")
    return _json(api_json.slo_json(row))


@router.delete("/slos/{slo_id:int}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
def delete_slo(slo_id: Id, principal: Admin, session: WriteSession) -> Response:
    slo_service.delete_slo(session, principal=principal, ref=slo_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/slos/{slo_id:int}/status",
    response_class=JSONResponse,
    responses={
        200: {
            "description": "the status; evaluated_at says when it was computed",
            "content": {
                "application/json": {"schema": {"type": "object", "additionalProperties": True}}
            },
        },
        **NOT_FOUND,
    },
)
async def slo_status(
    slo_id: Id,
    request: Request,
    _: Viewer,
    fresh: Annotated[
        bool, Query(description="evaluate now instead of answering with the last evaluation")
    ] = False,
) -> Response:
    """The last evaluation (the scheduler's, at most a minute old: see evaluated_at), or a
    new one when asked to (fresh=true), when there is none yet, or when the SLO was changed or
    reset after it. A new one is not stored."""
    if not fresh:
        key = ("api/status", slo_id)
        stored = await serve_kept(
            request,
            GENERATION,
            key,
            lambda conn: api_json.stored_status(conn, slo_id),
            refill=api_json.stored_statuses,
        )
        if stored is not None:
            return _json(stored)
    return await run_in_threadpool(_evaluated_status, request, slo_id)


def _evaluated_status(request: Request, slo_id: int) -> Response:
    statuses = evaluation.evaluate(
        request.app.state.db,
        now=clock.now(),
        prometheus=prometheus_client(request),
        slo_ids=[slo_id],
        persist=False,
    )
    if slo_id not in statuses:
        raise NotFound(f"no SLO {slo_id!r}", field="slo")
    return _json(evaluation.result_text(statuses[slo_id].to_json()))


@router.get("/slos/{slo_id:int}/burndown", responses=NOT_FOUND)
def burndown(slo_id: Id, request: Request, _: Viewer, session: ReadSession) -> dict[str, Any]:
    slo = slo_service.get_slo(session, ref=slo_id)
    points = charts.burndown(session, slo, clock.now(), prometheus_client(request))
    return {"points": [{"at": at.isoformat(), "remaining": tidy(value)} for at, value in points]}


#: Pushes wait in a bounded queue for the group commit; a full one answers this at once.
OVERLOADED: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorOut,
        "description": "too many pushes queued; retry after the Retry-After header's seconds",
    }
}


def overloaded(exc: group_commit.QueueFull) -> JSONResponse:
    return JSONResponse(
        error_body("overloaded", f"too many pushes queued ({exc}); retry shortly"),
        status_code=503,
        headers={"Retry-After": str(group_commit.RETRY_AFTER)},
    )


def accepted(count: int) -> Response:
    # Written out, not returned as a PushResult: validating and serialising a one-number model
    # through the response model cost every push more than these bytes do.
    return Response(b'{"accepted":%d}' % count, media_type="application/json")


# async, and no session dependency: the request waits on the group commit's writer thread
# without holding a worker thread or a connection of its own.
@router.post(
    "/slos/{slo_id:int}/events",
    response_model=PushResult,
    responses={**WITH_BODY, **NOT_FOUND, **OVERLOADED},
)
async def push_events(
    slo_id: Id, body: EventBatch, request: Request, principal: Responder
) -> Response:
    raw = [(e.timestamp, e.good, e.total) for e in body.events]
    push = ingestion.OnePush(slo_id, raw, principal, current_request_id())
    try:
        return accepted(await ingestion.submit(request.app.state.db, push))
    except group_commit.QueueFull as exc:
        return overloaded(exc)


@router.post("/events", response_model=PushResult, responses={**WITH_BODY, **OVERLOADED})
async def push_bulk(body: BulkEventBatch, request: Request, principal: Responder) -> Response:
    """Counts for several pushed SLOs in one batch; any bad item rejects the whole batch."""
    items = [(e.slo, (e.timestamp, e.good, e.total)) for e in body.events]
    push = ingestion.BulkPush(items, principal, current_request_id())
    try:
        return accepted(await ingestion.submit(request.app.state.db, push))
    except group_commit.QueueFull as exc:
        return overloaded(exc)


@router.post(
    "/slos/{slo_id:int}/reset", response_model=PeriodOut, responses={**WITH_BODY, **NOT_FOUND}
)
def reset(slo_id: Id, body: ResetIn, principal: Admin, session: WriteSession) -> PeriodOut:
    period = slo_service.reset_budget(session, principal=principal, ref=slo_id, reason=body.reason)
    return PeriodOut.model_validate(period, from_attributes=True)


@router.get("/slos/{slo_id:int}/periods", response_model=Page[PeriodOut], responses=NOT_FOUND)
def periods(slo_id: Id, _: Viewer, session: ReadSession, paging: PageQuery) -> Page[PeriodOut]:
    slo = slo_service.get_slo(session, ref=slo_id)
    rows = slo_service.periods(
        session, slo_id=slo.id, after_id=paging.after, limit=paging.limit + 1
    )
    page = page_of(rows, lambda p: p.id, paging)
    return Page(
        items=[PeriodOut.model_validate(p, from_attributes=True) for p in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/slos/{slo_id:int}/alerts", response_model=Page[AlertEventOut], responses=NOT_FOUND)
def alert_history(
    slo_id: Id, _: Viewer, session: ReadSession, paging: PageQuery
) -> Page[AlertEventOut]:
    """Newest first."""
    slo = slo_service.get_slo(session, ref=slo_id)
    rows = slo_service.alert_history(
        session, slo_id=slo.id, limit=paging.limit + 1, before_id=paging.after
    )
    page = page_of(rows, lambda e: e.id, paging, descending=True)
    return Page(
        items=[AlertEventOut.model_validate(e, from_attributes=True) for e in page.items],
        next_cursor=page.next_cursor,
    )


# The budget state of a service (GET /services/{service}/budget-state) is the catalog's:
# opsloop.services.api answers it with the service's SLOs, read through this domain's service.


@router.get("/services/{service}/policy")
def get_policy(service: ServicePath, _: Viewer, session: ReadSession) -> dict[str, Any]:
    return {
        "service": service,
        "tiers": budget_policies.policy_config(
            budget_policies.policy_for(session, service=service)
        ),
    }


@router.put("/services/{service}/policy", responses=WITH_BODY)
def put_policy(
    service: ServicePath, body: PolicyIn, principal: Admin, session: WriteSession
) -> dict[str, Any]:
    config = {"tiers": [t.model_dump(exclude_none=True) for t in body.tiers]}
    policy = budget_policies.set_policy(
        session, principal=principal, service=service, config=config
    )
    return {"service": service, "tiers": budget_policies.policy_config(policy)}
