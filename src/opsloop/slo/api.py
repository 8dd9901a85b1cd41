from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy import select

from opsloop.core import clock
from opsloop.core.db import Database
from opsloop.core.deps import (
    Admin,
    Approver,
    DataWriteSession,
    ReadSession,
    Responder,
    Viewer,
    WriteSession,
)
from opsloop.core.errors import NotFound, ValidationFailed
from opsloop.core.schemas import Id, Page
from opsloop.slo import charts, evaluation, ingestion
from opsloop.slo import service as slos
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
    summary = slos.summary(slos.definition(slo))
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
        period_started_at=datetime.fromisoformat(result["period"]["start"])
        if result
        else slo.created_at,
        status=result,
    )


def applied_out(applied: slos.Applied) -> AppliedOut:
    return AppliedOut(
        id=applied.slo_id, service=applied.service, name=applied.name, outcome=applied.outcome
    )


@router.get("/slos", response_model=Page[SLOOut])
def list_slos(_: Viewer, session: ReadSession, service: str | None = None) -> Page[SLOOut]:
    rows = slos.list_slos(session, service)
    latest = slos.latest_results(session, [s.id for s in rows])
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
        applied = slos.apply_specs(session, principal, text, "request body")
    evaluate_applied(request, applied)
    return [
        AppliedOut(id=a.slo_id, service=a.service, name=a.name, outcome=a.outcome) for a in applied
    ]


@router.post("/slos", response_model=AppliedOut, status_code=status.HTTP_201_CREATED)
def create_pushed(body: PushedSLOCreate, principal: Approver, request: Request) -> AppliedOut:
    defn = slos.pushed_definition(**body.model_dump())
    db: Database = request.app.state.db
    with db.write() as session:
        applied = slos.apply_definition(session, principal, defn)
    evaluate_applied(request, [applied])
    return applied_out(applied)


def evaluate_applied(request: Request, applied: list[slos.Applied]) -> None:
    """Evaluate new and changed SLOs once committed, so they show a status at once rather
    than after the scheduler's next tick."""
    changed = [a.slo_id for a in applied if a.outcome != "unchanged"]
    if changed:
        db: Database = request.app.state.db
        prometheus = prometheus_client(request)
        evaluation.evaluate(db, clock.now(), prometheus=prometheus, slo_ids=changed)


@router.get("/slos/export")
def export_specs(
    _: Viewer,
    session: ReadSession,
    format: Annotated[str, Query(pattern="^(openslo|sloth)$")] = "openslo",
    service: str | None = None,
) -> Response:
    return Response(slos.export_specs(session, format, service), media_type="application/yaml")


@router.get("/slos/rules")
def rules(_: Viewer, session: ReadSession, service: str | None = None) -> Response:
    """Prometheus recording and alert rules for every Prometheus-sourced SLO."""
    defs = [slos.definition(s) for s in slos.list_slos(session, service) if s.source != "push"]
    return Response(generate_rule_file(defs), media_type="application/yaml")


@router.get("/slos/{slo_id}", response_model=SLOOut)
def get_slo(slo_id: Id, _: Viewer, session: ReadSession) -> SLOOut:
    slo = slos.get_slo(session, slo_id)
    return slo_out(slo, slos.latest_results(session, [slo.id]).get(slo.id))


@router.delete("/slos/{slo_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_slo(slo_id: Id, principal: Admin, session: WriteSession) -> Response:
    slos.delete_slo(session, principal, slo_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/slos/{slo_id}/status")
def fresh_status(slo_id: Id, request: Request, _: Viewer) -> dict[str, Any]:
    """Evaluate now (not from the scheduler's last run)."""
    # No ReadSession here: evaluate opens its own, and holding a second one meanwhile would
    # take two connections per request.
    statuses = evaluation.evaluate(
        request.app.state.db,
        clock.now(),
        prometheus=prometheus_client(request),
        slo_ids=[slo_id],
        persist=False,
    )
    if slo_id not in statuses:
        raise NotFound(f"no SLO {slo_id!r}", field="slo")
    return statuses[slo_id].to_json()


@router.get("/slos/{slo_id}/burndown")
def burndown(slo_id: Id, request: Request, _: Viewer, session: ReadSession) -> dict[str, Any]:
    slo = slos.get_slo(session, slo_id)
    points = charts.burndown(session, slo, clock.now(), prometheus_client(request))
    return {"points": [{"at": at.isoformat(), "remaining": value} for at, value in points]}


@router.post("/slos/{slo_id}/events", response_model=PushResult)
def push_events(
    slo_id: Id, body: EventBatch, principal: Responder, session: DataWriteSession
) -> PushResult:
    slo = slos.get_slo(session, slo_id)
    raw = [(e.timestamp, e.good, e.total) for e in body.events]
    return PushResult(
        accepted=ingestion.push_events(session, principal=principal, slo=slo, raw=raw)
    )


@router.post("/events", response_model=PushResult)
def push_bulk(body: BulkEventBatch, principal: Responder, session: DataWriteSession) -> PushResult:
    """Counts for several pushed SLOs in one batch; any bad item rejects the whole batch."""
    items = [(e.slo, (e.timestamp, e.good, e.total)) for e in body.events]
    return PushResult(accepted=ingestion.push_bulk(session, principal=principal, items=items))


@router.post("/slos/{slo_id}/reset", response_model=PeriodOut)
def reset(slo_id: Id, body: ResetIn, principal: Admin, session: WriteSession) -> PeriodOut:
    period = slos.reset_budget(session, principal, slo_id, body.reason)
    return PeriodOut.model_validate(period, from_attributes=True)


@router.get("/slos/{slo_id}/periods", response_model=list[PeriodOut])
def periods(slo_id: Id, _: Viewer, session: ReadSession) -> list[PeriodOut]:
    slo = slos.get_slo(session, slo_id)
    return [
        PeriodOut.model_validate(p, from_attributes=True) for p in slos.periods(session, slo.id)
    ]


@router.get("/slos/{slo_id}/alerts", response_model=list[AlertEventOut])
def alert_history(
    slo_id: Id,
    _: Viewer,
    session: ReadSession,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AlertEventOut]:
    slo = slos.get_slo(session, slo_id)
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
    return ServiceBudgetState(**slos.service_state(session, service))


@router.get("/services/{service}/policy")
def get_policy(service: str, _: Viewer, session: ReadSession) -> dict[str, Any]:
    return {"service": service, "tiers": slos.policy_config(slos.policy_for(session, service))}


@router.put("/services/{service}/policy")
def put_policy(
    service: str, body: PolicyIn, principal: Admin, session: WriteSession
) -> dict[str, Any]:
    config = {"tiers": [t.model_dump(exclude_none=True) for t in body.tiers]}
    policy = slos.set_policy(session, principal, service, config)
    return {"service": service, "tiers": slos.policy_config(policy)}
