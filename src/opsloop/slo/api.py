from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy import select

from opsloop.core import clock
from opsloop.core.db import Database
from opsloop.core.deps import Admin, Approver, ReadSession, Responder, Viewer, WriteSession
from opsloop.core.errors import NotFound, ValidationFailed
from opsloop.core.schemas import Id, Page
from opsloop.slo import charts, evaluation
from opsloop.slo import service as slo_service
from opsloop.slo.models import SLO, AlertEvent
from opsloop.slo.prometheus import PrometheusClient
from opsloop.slo.rules import generate_rule_file
from opsloop.slo.schemas import (
    AlertEventOut,
    AppliedOut,
    BulkEventBatch,
    EventBatch,
    PeriodOut,
    PolicyIn,
    PushedSLOCreate,
    PushResult,
    ResetIn,
    ServiceBudgetState,
    SLOOut,
)

router = APIRouter(prefix="/api/v1", tags=["SLOs"])
YAML_TYPES = {"application/yaml", "application/x-yaml", "text/yaml", "text/plain"}
MAX_SPEC_BYTES = 1_000_000


def prometheus_client(request: Request) -> PrometheusClient | None:
    """One client per process, reused across requests (keep-alive to Prometheus)."""
    url = request.app.state.settings.prometheus_url
    if not url:
        return None
    client: PrometheusClient | None = getattr(request.app.state, "prometheus", None)
    if client is None:
        client = PrometheusClient(url)
        request.app.state.prometheus = client
    return client


def slo_out(slo: SLO, result: dict[str, Any] | None = None) -> SLOOut:
    summary = slo_service.summary(slo_service.definition(slo))
    return SLOOut(
        id=slo.id,
        service=slo.service,
        name=slo.name,
        source=slo.source,
        objective=slo.objective,
        sli_kind=summary["sli_kind"],
        window=summary["window"],
        description=summary["description"],
        owner=summary["owner"],
        labels=summary["labels"],
        policy_state=slo.policy_state,
        policy_state_since=slo.policy_state_since,
        period_started_at=slo.period_started_at,
        status=result,
    )


def applied_out(applied: slo_service.Applied) -> AppliedOut:
    return AppliedOut(
        id=applied.slo_id, service=applied.service, name=applied.name, outcome=applied.outcome
    )


@router.get("/slos", response_model=Page[SLOOut])
def list_slos(_: Viewer, session: ReadSession, service: str | None = None) -> Page[SLOOut]:
    rows = slo_service.list_slos(session, service)
    latest = slo_service.latest_results(session, [s.id for s in rows])
    return Page(items=[slo_out(s, latest.get(s.id)) for s in rows])


@router.post("/slos/apply", response_model=list[AppliedOut])
async def apply_specs(request: Request, principal: Approver) -> list[AppliedOut]:
    """Apply OpenSLO v1 or Sloth prometheus/v1 YAML (multi-document): all or nothing."""
    media = request.headers.get("content-type", "").split(";")[0].strip()
    if media not in YAML_TYPES:
        raise ValidationFailed("send the spec as application/yaml", field="body")
    body = await request.body()
    if len(body) > MAX_SPEC_BYTES:
        raise ValidationFailed("spec is larger than 1 MB", field="body")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed("spec must be UTF-8", field="body") from None
    db: Database = request.app.state.db
    with db.write() as session:
        applied = slo_service.apply_specs(session, principal, text, "request body")
    return [
        AppliedOut(id=a.slo_id, service=a.service, name=a.name, outcome=a.outcome) for a in applied
    ]


@router.post("/slos", response_model=AppliedOut, status_code=status.HTTP_201_CREATED)
def create_pushed(body: PushedSLOCreate, principal: Approver, session: WriteSession) -> AppliedOut:
    defn = slo_service.pushed_definition(**body.model_dump())
    return applied_out(slo_service.apply_definition(session, principal, defn))


@router.get("/slos/export")
def export_specs(
    _: Viewer,
    session: ReadSession,
    format: Annotated[str, Query(pattern="^(openslo|sloth)$")] = "openslo",
    service: str | None = None,
) -> Response:
    return Response(
        slo_service.export_specs(session, format, service), media_type="application/yaml"
    )


@router.get("/slos/rules")
def rules(_: Viewer, session: ReadSession, service: str | None = None) -> Response:
    """Prometheus recording and alert rules for every Prometheus-sourced SLO."""
    defs = [
        slo_service.definition(s)
        for s in slo_service.list_slos(session, service)
        if s.source != "push"
    ]
    return Response(generate_rule_file(defs), media_type="application/yaml")


@router.get("/slos/{slo_id}", response_model=SLOOut)
def get_slo(slo_id: Id, _: Viewer, session: ReadSession) -> SLOOut:
    slo = slo_service.get_slo(session, slo_id)
    return slo_out(slo, slo_service.latest_results(session, [slo.id]).get(slo.id))


@router.delete("/slos/{slo_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_slo(slo_id: Id, principal: Admin, session: WriteSession) -> Response:
    slo_service.delete_slo(session, principal, slo_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/slos/{slo_id}/status")
def fresh_status(slo_id: Id, request: Request, _: Viewer, session: ReadSession) -> dict[str, Any]:
    """Evaluate now (not from the scheduler's last run)."""
    slo = slo_service.get_slo(session, slo_id)
    statuses = evaluation.evaluate(
        request.app.state.db,
        clock.now(),
        prometheus=prometheus_client(request),
        slo_ids=[slo.id],
        persist=False,
    )
    return statuses[slo.id].to_json()


@router.get("/slos/{slo_id}/burndown")
def burndown(slo_id: Id, request: Request, _: Viewer, session: ReadSession) -> dict[str, Any]:
    slo = slo_service.get_slo(session, slo_id)
    points = charts.burndown(session, slo, clock.now(), prometheus_client(request))
    return {"points": [{"at": at.isoformat(), "remaining": value} for at, value in points]}


@router.post("/slos/{slo_id}/events", response_model=PushResult)
def push_events(
    slo_id: Id, body: EventBatch, principal: Responder, session: WriteSession
) -> PushResult:
    slo = slo_service.get_slo(session, slo_id)
    raw = [(e.timestamp, e.good, e.total) for e in body.events]
    return PushResult(accepted=slo_service.push_events(session, principal, slo, raw))


@router.post("/events", response_model=PushResult)
def push_bulk(body: BulkEventBatch, principal: Responder, session: WriteSession) -> PushResult:
    """Counts for several pushed SLOs in one batch; any bad item rejects the whole batch."""
    by_slo: dict[int, list[tuple[int, Any]]] = {}
    targets: dict[int, SLO] = {}
    for index, event in enumerate(body.events):
        try:
            slo = slo_service.get_slo(session, event.slo)
        except NotFound:
            raise ValidationFailed(
                f"events[{index}].slo: no SLO {event.slo!r}", field=f"events[{index}].slo"
            ) from None
        targets[slo.id] = slo
        by_slo.setdefault(slo.id, []).append((index, event))
    accepted = 0
    for slo_id, items in by_slo.items():
        raw = [(e.timestamp, e.good, e.total) for _, e in items]
        try:
            accepted += slo_service.push_events(session, principal, targets[slo_id], raw)
        except ValidationFailed as exc:
            raise _renumber(exc, [i for i, _ in items]) from None
    return PushResult(accepted=accepted)


def _renumber(exc: ValidationFailed, indexes: list[int]) -> ValidationFailed:
    """Point an error about the n-th event of one SLO at its index in the whole batch."""
    field = exc.field or ""
    if field.startswith("events[") and "]" in field:
        local = int(field[len("events[") : field.index("]")])
        whole = f"events[{indexes[local]}]"
        return ValidationFailed(
            exc.message.replace(f"events[{local}]", whole, 1),
            field=whole + field[field.index("]") + 1 :],
        )
    return exc


@router.post("/slos/{slo_id}/reset", response_model=PeriodOut)
def reset(slo_id: Id, body: ResetIn, principal: Admin, session: WriteSession) -> PeriodOut:
    period = slo_service.reset_budget(session, principal, slo_id, body.reason)
    return PeriodOut.model_validate(period, from_attributes=True)


@router.get("/slos/{slo_id}/periods", response_model=list[PeriodOut])
def periods(slo_id: Id, _: Viewer, session: ReadSession) -> list[PeriodOut]:
    slo = slo_service.get_slo(session, slo_id)
    return [
        PeriodOut.model_validate(p, from_attributes=True)
        for p in slo_service.periods(session, slo.id)
    ]


@router.get("/slos/{slo_id}/alerts", response_model=list[AlertEventOut])
def alert_history(
    slo_id: Id,
    _: Viewer,
    session: ReadSession,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AlertEventOut]:
    slo = slo_service.get_slo(session, slo_id)
    query = (
        select(AlertEvent)
        .where(AlertEvent.slo_id == slo.id)
        .order_by(AlertEvent.at.desc(), AlertEvent.id.desc())
        .limit(limit)
    )
    return [AlertEventOut.model_validate(e, from_attributes=True) for e in session.scalars(query)]


@router.get("/services/{service}/budget-state", response_model=ServiceBudgetState)
def budget_state(service: str, _: Viewer, session: ReadSession) -> ServiceBudgetState:
    """The error-budget policy state of a service: change management blocks during a freeze."""
    return ServiceBudgetState(**slo_service.service_state(session, service))


@router.get("/services/{service}/policy")
def get_policy(service: str, _: Viewer, session: ReadSession) -> dict[str, Any]:
    return {
        "service": service,
        "tiers": slo_service.policy_config(slo_service.policy_for(session, service)),
    }


@router.put("/services/{service}/policy")
def put_policy(
    service: str, body: PolicyIn, principal: Admin, session: WriteSession
) -> dict[str, Any]:
    config = {"tiers": [t.model_dump(exclude_none=True) for t in body.tiers]}
    policy = slo_service.set_policy(session, principal, service, config)
    return {"service": service, "tiers": slo_service.policy_config(policy)}
