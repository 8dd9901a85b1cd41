"""Alerts under /api/v1/alerts: Alertmanager's webhook, the alert list, ack, feedback, MTTA."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Connection

from opsloop.alerts import api_json, ingestion, standard
from opsloop.alerts import service as alerts
from opsloop.alerts.alertmanager_payload import WebhookIn
from opsloop.alerts.models import AlertStatus
from opsloop.alerts.schemas import AlertOut, FeedbackIn, MTTAOut, ReceivedOut
from opsloop.core import group_commit
from opsloop.core.api_errors import error_body
from opsloop.core.auth.roles import Principal
from opsloop.core.config import Settings
from opsloop.core.counters import serve_kept
from opsloop.core.deps import ReadSession, Responder, Viewer, WriteSession
from opsloop.core.errors import ValidationFailed
from opsloop.core.requestctx import current_request_id
from opsloop.core.schemas import (
    AUTHENTICATED,
    WITH_BODY,
    Id,
    Page,
    PageQuery,
    Timestamp,
    errors,
    plain_params,
)

router = APIRouter(
    prefix="/api/v1",
    tags=["Alerts"],
    responses=AUTHENTICATED,
    dependencies=[Depends(plain_params)],
)
NOT_FOUND = errors(404)
OVERLOADED: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "too many webhooks queued; retry after the Retry-After header's seconds",
    }
}


@lru_cache(maxsize=8)
def _rules(configured: tuple[tuple[str, str], ...]) -> dict[str, standard.Target]:
    return standard.standard(dict(configured))


def delivery_of(payload: WebhookIn, principal: Principal, settings: Settings) -> ingestion.Delivery:
    labels = tuple(settings.alert_service_labels.split(","))
    rules = _rules(tuple(sorted(settings.alert_standard.items())))
    return ingestion.Delivery(payload, principal, current_request_id(), labels, rules)


@router.post(
    "/alerts/alertmanager",
    response_model=ReceivedOut,
    responses={**WITH_BODY, **OVERLOADED},
)
async def alertmanager_webhook(
    payload: WebhookIn, request: Request, principal: Responder
) -> Response:
    """Alertmanager's webhook (payload version 4). Configure it with ``http_config:
    authorization: {credentials: <an opsloop API token, responder or above>}``. The payload is
    stored whole or not at all; repeats and retries change nothing."""
    delivery = delivery_of(payload, principal, request.app.state.settings)
    try:
        count = await ingestion.submit(request.app.state.db, delivery)
    except group_commit.QueueFull as exc:
        return JSONResponse(
            error_body("overloaded", f"too many webhooks queued ({exc}); retry shortly"),
            status_code=503,
            headers={"Retry-After": str(group_commit.RETRY_AFTER)},
        )
    return Response(f'{{"alerts":{count}}}', media_type="application/json")


# async: it does no I/O, and a plain function would cost the list a worker-thread hop.
async def alert_filter(
    status: AlertStatus | None = None,
    service: Annotated[str | None, Query(max_length=63)] = None,
    severity: Annotated[str | None, Query(max_length=32)] = None,
    name: Annotated[str | None, Query(max_length=255)] = None,
    since: Annotated[Timestamp | None, Query()] = None,
    until: Annotated[Timestamp | None, Query()] = None,
) -> alerts.AlertFilter:
    for field, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ValidationFailed(f"{field}: needs a time zone, e.g. Z", field=field)
    return alerts.AlertFilter(status, service, severity, name, since, until)


Filter = Annotated[alerts.AlertFilter, Depends(alert_filter)]


@router.get(
    "/alerts",
    response_class=JSONResponse,
    responses={200: {"model": Page[AlertOut], "description": "a page of alerts, newest first"}},
)
async def list_alerts(request: Request, _: Viewer, flt: Filter, paging: PageQuery) -> Response:
    """Newest first."""

    def page(conn: Connection) -> bytes:
        rows = api_json.page_rows(conn, flt, before_id=paging.after, limit=paging.limit + 1)
        return api_json.page_json(rows, paging.limit)

    # Kept per filter and page until an alert changes: nothing in it depends on the time.
    key = ("api/alerts", flt, paging.after, paging.limit)
    body = await serve_kept(request, api_json.GENERATION, key, page)
    return Response(body, media_type="application/json")


@router.get("/alerts/mtta", response_model=list[MTTAOut])
def mean_time_to_acknowledge(
    _: Viewer, session: ReadSession, since: Annotated[Timestamp | None, Query()] = None
) -> list[MTTAOut]:
    """Mean time to acknowledge per alert name and severity, in seconds."""
    if since is not None and since.tzinfo is None:
        raise ValidationFailed("since: needs a time zone, e.g. Z", field="since")
    return [MTTAOut(**vars(row)) for row in alerts.mtta(session, since=since)]


@router.get("/alerts/{alert_id:int}", response_model=AlertOut, responses=NOT_FOUND)
def get_alert(alert_id: Id, _: Viewer, session: ReadSession) -> AlertOut:
    return AlertOut.of(alerts.get_alert(session, alert_id=alert_id))


@router.post(
    "/alerts/{alert_id:int}/ack", response_model=AlertOut, responses={**NOT_FOUND, **errors(409)}
)
def acknowledge(alert_id: Id, principal: Responder, session: WriteSession) -> AlertOut:
    return AlertOut.of(alerts.acknowledge(session, principal=principal, alert_id=alert_id))


@router.post(
    "/alerts/{alert_id:int}/feedback",
    response_model=AlertOut,
    responses={**NOT_FOUND, **WITH_BODY},
)
def feedback(
    alert_id: Id, body: FeedbackIn, principal: Responder, session: WriteSession
) -> AlertOut:
    alert = alerts.give_feedback(
        session, principal=principal, alert_id=alert_id, verdict=body.verdict, action=body.action
    )
    return AlertOut.of(alert)
