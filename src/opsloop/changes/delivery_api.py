"""The delivery API: recording a deployment from a pipeline, DORA's four keys, the
compliance report and the evidence export. Its router comes before the change router's
``/changes/{key}``, so these paths are never read as keys."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from opsloop.changes import compliance_report, dora, evidence, recording
from opsloop.changes.delivery_schemas import (
    ComplianceOut,
    DoraOut,
    FindingOut,
    RecordedOut,
    RecordIn,
)
from opsloop.changes.deps import Policy
from opsloop.core import clock, periods
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import Principal
from opsloop.core.deps import ReadSession, Responder, Viewer, WriteSession, require_role
from opsloop.core.schemas import AUTHENTICATED, PLAIN_PATTERN, WITH_BODY, errors, plain_params

router = APIRouter(
    prefix="/api/v1/changes",
    tags=["Changes"],
    responses=AUTHENTICATED,
    dependencies=[Depends(plain_params)],
)
Since = Annotated[
    str | None,
    Query(max_length=40, pattern=PLAIN_PATTERN, description="30d, 12w, 24h or a date-time"),
]
Until = Annotated[
    str | None, Query(max_length=40, pattern=PLAIN_PATTERN, description="default: now")
]
Name = Annotated[str | None, Query(max_length=63, pattern=PLAIN_PATTERN)]
#: The evidence holds the audit trail's records: who may read the trail may export it.
AuditReader = Annotated[Principal, Depends(require_role(audit.READ_ROLE))]


@router.post(
    "/record",
    response_model=RecordedOut,
    status_code=status.HTTP_201_CREATED,
    responses={**WITH_BODY, 200: {"description": "recorded before: nothing written"}},
)
def record(
    body: RecordIn,
    principal: Responder,
    session: WriteSession,
    policy: Policy,
    response: Response,
) -> RecordedOut:
    """Record a deployment a pipeline ran: a standard change created, pre-approved, started
    and finished at once (one audit record). The same service, version and pipeline run
    again answer the change recorded before, with 200."""
    found = recording.record_deployment(
        session, principal=principal, policy=policy, **body.model_dump()
    )
    if not found.created:
        response.status_code = status.HTTP_200_OK
    return RecordedOut.recorded(found)


@router.get("/dora", response_model=DoraOut)
def get_dora(
    _: Viewer,
    session: ReadSession,
    since: Since = None,
    until: Until = None,
    by: Annotated[str, Query(max_length=16, pattern=PLAIN_PATTERN)] = "service",
    service: Name = None,
    team: Name = None,
) -> DoraOut:
    """DORA's four keys of changes that finished in the period (default: the last 90 days),
    per service, team, week or month, with each key's performance band."""
    start, end = periods.period(since, until, now=clock.now(), default=timedelta(days=90))
    report = dora.dora(session, since=start, until=end, by=by, service=service, team=team)
    return DoraOut.of(report)


@router.get("/compliance", response_model=ComplianceOut)
def get_compliance(
    _: Viewer,
    session: ReadSession,
    policy: Policy,
    since: Since = None,
    until: Until = None,
    require_cab_approval: bool = False,
    require_rollback_plan: bool = False,
) -> ComplianceOut:
    """Changes started in the period (default: the last 30 days) that lacked approval or a
    rollback plan, overrode the error-budget gate or ran outside their window."""
    start, end = periods.period(since, until, now=clock.now(), default=timedelta(days=30))
    found = compliance_report.compliance_report(
        session,
        since=start,
        until=end,
        require_cab_approval=require_cab_approval,
        require_rollback_plan=require_rollback_plan,
        policy=policy,
    )
    return ComplianceOut(
        since=start, until=end, compliant=not found, findings=[FindingOut.of(f) for f in found]
    )


@router.get(
    "/evidence",
    response_class=Response,
    responses={
        200: {"content": {"application/zip": {}}, "description": "the evidence files"},
        **errors(422),
    },
)
def get_evidence(
    _: AuditReader,
    session: ReadSession,
    period: Annotated[
        str | None, Query(max_length=7, pattern=PLAIN_PATTERN, description="a month: YYYY-MM")
    ] = None,
    since: Since = None,
    until: Until = None,
) -> Response:
    """The period's changes, CAB decisions, history and audit records as CSV and JSON with a
    SHA-256 manifest, in a zip."""
    if period:
        start, end = evidence.month_period(period)
    else:
        start, end = periods.period(since, until, now=clock.now(), default=timedelta(days=30))
    files = evidence.export(session, since=start, until=end)
    name = f"change-evidence-{period or start.date().isoformat()}.zip"
    return Response(
        content=evidence.as_zip(files),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
