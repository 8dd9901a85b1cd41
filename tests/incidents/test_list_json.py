"""The incident list written from plain rows (opsloop.incidents.api_json) is byte for byte what
``Page[IncidentRow]`` serialises from the views, for every filter and page, directly and through
GET /api/v1/incidents; the list page's rows (opsloop.incidents.listing) hold the views' fields.
SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi.testclient import TestClient

from opsloop.core import clock
from opsloop.core.auth.roles import SYSTEM, Role
from opsloop.core.db import Database
from opsloop.core.schemas import Page, Paging, page_of
from opsloop.incidents import api_json, lifecycle, listing
from opsloop.incidents import service as incidents
from opsloop.incidents.rules import DEFAULT_RESPONSE_TARGETS, Severity, Status
from opsloop.incidents.schemas import IncidentRow
from opsloop.incidents.vocabulary import Audience
from opsloop.services import teams
from opsloop.services.entries import TeamEntry
from tests.helpers import bearer
from tests.incidents.helpers import RESPONDER, declare, make_people, make_service
from tests.services.helpers import make_slo

API = "/api/v1/incidents"
Targets = dict[Severity, timedelta]
DEFAULTS: Targets = dict(DEFAULT_RESPONSE_TARGETS)
TARGETS: Targets = {**DEFAULT_RESPONSE_TARGETS, Severity.SEV2: timedelta(minutes=7)}
FILTERS = [
    incidents.IncidentFilter(),
    incidents.IncidentFilter(open_only=True),
    incidents.IncidentFilter(status=Status.resolved),
    incidents.IncidentFilter(severity=Severity.SEV1),
    incidents.IncidentFilter(service="checkout"),
    incidents.IncidentFilter(team="payments"),
    incidents.IncidentFilter(team="payments", service="search"),
    incidents.IncidentFilter(service="nowhere"),
]


def _seed(db: Database, frozen_clock: clock.FrozenClock) -> None:
    """Incidents open and resolved, without, with one and with several services, SLO links,
    roles, impact, times with and without microseconds, acknowledged in time, late and never,
    status updates promised and overdue."""
    with db.write() as session:
        teams.create_team(session, principal=SYSTEM, entry=TeamEntry(name="payments"))
    make_service(db, "checkout", owner_team="payments")
    make_service(db, "search")
    make_service(db, "billing", owner_team="payments")
    make_slo(db, "checkout")
    make_people(db, "ana", "bo")
    severities = list(Severity)
    for n in range(14):
        frozen_clock.advance(timedelta(minutes=9, microseconds=123_457 * (n % 3)))
        services = [["checkout"], [], ["search", "checkout"], ["billing", "search", "checkout"]]
        found = declare(
            db,
            title=f'Incident {n} \u00e9\u2603 "quoted" </script>',
            severity=severities[n % 4],
            services=services[n % 4],
            slos=["checkout/availability"] if n % 3 == 0 else [],
            commander="ana" if n % 2 else None,
            communications_lead="bo" if n % 5 == 0 else None,
            users_affected=1000 * n if n % 2 else None,
            features_impacted=["login"] if n % 3 else [],
            revenue_impact="~3k EUR/h" if n == 4 else "",
            started_at=clock.now() - timedelta(minutes=n, microseconds=n),
        )
        frozen_clock.advance(timedelta(minutes=8 * (n % 3), seconds=n))
        with db.write() as session:
            if n % 3 != 2:
                lifecycle.acknowledge(session, principal=RESPONDER, key=found.key)
            if n % 4 == 1:
                lifecycle.post_update(
                    session,
                    principal=RESPONDER,
                    key=found.key,
                    audience=Audience.internal,
                    text="looking",
                    next_update_at=clock.now() + timedelta(minutes=5 + n),
                )
            if n % 5 in (1, 3):
                lifecycle.change_status(
                    session, principal=RESPONDER, key=found.key, status=Status.resolved
                )
    frozen_clock.advance(timedelta(minutes=20))


def _through_models(
    db: Database, flt: incidents.IncidentFilter, paging: Paging, targets: Targets = TARGETS
) -> bytes:
    """The page as the route answered it before: views, ``IncidentRow`` and FastAPI's JSON."""
    with db.read() as session:
        found = incidents.list_incidents(
            session, flt=flt, before_id=paging.after, limit=paging.limit + 1, targets=targets
        )
    page = page_of(found, lambda i: i.id, paging, descending=True)
    shown = Page[IncidentRow](
        items=[IncidentRow.of(i, targets) for i in page.items], next_cursor=page.next_cursor
    )
    content = shown.model_dump(mode="json")
    return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def _from_rows(db: Database, flt: incidents.IncidentFilter, paging: Paging) -> bytes:
    with db.engine.connect() as conn:
        return api_json.page_json(
            conn, flt, before_id=paging.after, limit=paging.limit, targets=TARGETS
        )


def test_every_page_of_every_filter_is_the_models_answer(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    _seed(db, frozen_clock)
    seen = 0
    for flt in FILTERS:
        for limit in (1, 4, 100):
            after = None
            while True:
                paging = Paging(limit=limit, after=after)
                expected = _through_models(db, flt, paging)
                assert _from_rows(db, flt, paging) == expected, (flt, paging)
                cursor = json.loads(expected)["next_cursor"]
                seen += len(json.loads(expected)["items"])
                if cursor is None:
                    break
                after = int(cursor, 16)
    everything = json.loads(_from_rows(db, incidents.IncidentFilter(), Paging(100, None)))
    items = everything["items"]
    assert len(items) == 14 and seen > 14 * 3
    assert {i["response"]["state"] for i in items} >= {"met", "late", "overdue"}
    assert any(i["update_overdue"] for i in items) and any(i["resolved_at"] for i in items)
    assert ["billing", "checkout", "search"] in [i["services"] for i in items]


def test_the_route_answers_the_models_page_with_filters_and_cursors(
    client: TestClient, tokens: dict[Role, str], db: Database, frozen_clock: clock.FrozenClock
) -> None:
    _seed(db, frozen_clock)
    viewer = bearer(tokens[Role.viewer])
    defaults = incidents.IncidentFilter()
    keys: list[str] = []
    params: dict[str, str | int] = {"limit": 5}
    while True:
        answer = client.get(API, params=params, headers=viewer)
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
        after = int(str(params["cursor"]), 16) if "cursor" in params else None
        expected = _through_models(db, defaults, Paging(limit=5, after=after), DEFAULTS)
        assert answer.content == expected
        keys += [i["key"] for i in answer.json()["items"]]
        if answer.json()["next_cursor"] is None:
            break
        params["cursor"] = answer.json()["next_cursor"]
    assert len(keys) == 14 and keys == sorted(keys, reverse=True)
    default_page = client.get(API, headers=viewer).json()
    assert len(default_page["items"]) == 14 and default_page["next_cursor"] is None
    checks = {
        "status=open": incidents.IncidentFilter(open_only=True),
        "status=resolved": incidents.IncidentFilter(status=Status.resolved),
        "severity=sev1": incidents.IncidentFilter(severity=Severity.SEV1),
        "team=payments&service=checkout": incidents.IncidentFilter(
            team="payments", service="checkout"
        ),
    }
    for query, flt in checks.items():
        answer = client.get(f"{API}?{query}&limit=3", headers=viewer)
        assert answer.content == _through_models(db, flt, Paging(limit=3, after=None), DEFAULTS)
    late = client.get(API, params={"since": "2026-11-02T10:00:00Z"}, headers=viewer).json()
    assert late["items"] and all(i["started_at"] >= "2026-11-02T10:00:00" for i in late["items"])
    refused = client.get(API, params={"team": "nope"}, headers=viewer)
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "team"
    assert client.get(API, params={"cursor": "xyz"}, headers=viewer).status_code == 422


def test_the_list_pages_rows_are_the_views_fields(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    _seed(db, frozen_clock)
    shown = list(listing.ListedIncident._fields)
    for flt in FILTERS:
        for offset in (0, 3, 13, 20):
            with db.read() as session:
                views = incidents.list_incidents(
                    session, flt=flt, offset=offset, limit=4, targets=TARGETS
                )
                rows = listing.listed(
                    session.connection(),
                    flt,
                    offset=offset,
                    limit=4,
                    now=clock.now(),
                    targets=TARGETS,
                )
            expected = [[getattr(v, name) for name in shown] for v in views]
            for view_fields in expected:
                view_fields[shown.index("services")] = list(view_fields[shown.index("services")])
            assert [list(r) for r in rows] == expected, (flt, offset)
