"""Routing rules and silences under /api/v1/alerts/routes and /api/v1/alerts/silences."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from opsloop.alerts import routing_rules, silences
from opsloop.alerts.alertmanager_client import AlertmanagerClient
from opsloop.alerts.routing_schemas import (
    RouteTestIn,
    RouteTestOut,
    RuleIn,
    RuleOut,
    RulePatch,
    SilenceIn,
    SilenceOut,
)
from opsloop.core import clock
from opsloop.core.deps import ReadSession, Responder, Viewer, WriteSession
from opsloop.core.errors import ValidationFailed
from opsloop.core.schemas import AUTHENTICATED, WITH_BODY, ErrorOut, Id, errors, plain_params

router = APIRouter(
    prefix="/api/v1/alerts",
    tags=["Alert routing and silences"],
    responses=AUTHENTICATED,
    dependencies=[Depends(plain_params)],
)
NOT_FOUND = errors(404)
ALERTMANAGER: dict[int | str, dict[str, Any]] = {
    **errors(409),
    502: {"model": ErrorOut, "description": "Alertmanager refused the request"},
    503: {"model": ErrorOut, "description": "Alertmanager could not be reached"},
}


@router.get("/routes", response_model=list[RuleOut], response_model_by_alias=True)
def list_routes(_: Viewer, session: ReadSession) -> list[RuleOut]:
    """The routing rules in the order they are tried."""
    return [RuleOut.of(r) for r in routing_rules.list_rules(session)]


@router.post(
    "/routes",
    response_model=RuleOut,
    response_model_by_alias=True,
    status_code=201,
    responses=WITH_BODY,
)
def add_route(body: RuleIn, principal: Responder, session: WriteSession) -> RuleOut:
    rule = routing_rules.add_rule(
        session,
        principal=principal,
        matchers=body.matchers,
        action=body.action,
        severity=body.severity,
        name=body.name,
        fallback_declare=body.fallback_declare,
        continue_matching=body.continue_matching,
        position=body.position,
    )
    return RuleOut.of(rule)


@router.patch(
    "/routes/{rule_id:int}",
    response_model=RuleOut,
    response_model_by_alias=True,
    responses={**NOT_FOUND, **WITH_BODY},
)
def update_route(
    rule_id: Id, body: RulePatch, principal: Responder, session: WriteSession
) -> RuleOut:
    """Change a rule in place; it keeps its id and the incidents it declared."""
    rule = routing_rules.update_rule(
        session, principal=principal, rule_id=rule_id, changes=body.changes()
    )
    return RuleOut.of(rule)


@router.delete("/routes/{rule_id:int}", status_code=204, responses=NOT_FOUND)
def delete_route(rule_id: Id, principal: Responder, session: WriteSession) -> Response:
    routing_rules.delete_rule(session, principal=principal, rule_id=rule_id)
    return Response(status_code=204)


@router.post(
    "/routes/test", response_model=RouteTestOut, response_model_by_alias=True, responses=WITH_BODY
)
def test_route(body: RouteTestIn, _: Viewer, session: ReadSession) -> RouteTestOut:
    """Which rules an alert with these labels would be tried against (nothing is written)."""
    matched = routing_rules.matching(routing_rules.list_rules(session), body.labels)
    return RouteTestOut(matched=[RuleOut.of(r) for r in matched])


def _client(request: Request) -> AlertmanagerClient:
    return AlertmanagerClient.from_settings(request.app.state.settings)


def ends_of(starts_at: datetime | None, ends_at: datetime | None, minutes: int | None) -> datetime:
    if (ends_at is None) == (minutes is None):
        raise ValidationFailed("ends_at: give ends_at or duration_minutes", field="ends_at")
    if ends_at is not None:
        return ends_at
    assert minutes is not None
    return (starts_at or clock.now()) + timedelta(minutes=minutes)


@router.get("/silences", response_model=list[SilenceOut], responses=ALERTMANAGER)
def list_silences(
    _: Viewer,
    request: Request,
    session: ReadSession,
    include_expired: bool = False,
    live: bool = False,
) -> list[SilenceOut]:
    """Silences created through opsloop, newest first; with ``live=true`` each also carries
    Alertmanager's current state of it."""
    client = _client(request) if live else None
    rows = silences.list_silences(session, include_expired=include_expired, alertmanager=client)
    return [SilenceOut.of(s) for s in rows]


@router.post(
    "/silences",
    response_model=SilenceOut,
    status_code=201,
    responses={**WITH_BODY, **ALERTMANAGER},
)
def create_silence(
    body: SilenceIn, request: Request, principal: Responder, session: WriteSession
) -> SilenceOut:
    """Create a silence in Alertmanager (OPSLOOP_ALERTMANAGER_URL) and record it."""
    client = _client(request)
    created = silences.create_silence(
        session,
        principal=principal,
        matchers=body.matchers,
        starts_at=body.starts_at,
        ends_at=ends_of(body.starts_at, body.ends_at, body.duration_minutes),
        comment=body.comment,
        alertmanager=client,
    )
    return SilenceOut.of(created)


@router.get("/silences/{silence_id:int}", response_model=SilenceOut, responses=NOT_FOUND)
def get_silence(silence_id: Id, _: Viewer, session: ReadSession) -> SilenceOut:
    return SilenceOut.of(silences.get_silence(session, silence_id=silence_id))


@router.post(
    "/silences/{silence_id:int}/expire",
    response_model=SilenceOut,
    responses={**NOT_FOUND, **ALERTMANAGER},
)
def expire_silence(
    silence_id: Id, request: Request, principal: Responder, session: WriteSession
) -> SilenceOut:
    """End the silence now, in Alertmanager and here."""
    expired = silences.expire_silence(
        session, principal=principal, silence_id=silence_id, alertmanager=_client(request)
    )
    return SilenceOut.of(expired)
