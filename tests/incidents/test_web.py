"""The incident pages: the list with filters and badges, the incident page with its timeline
and controls for responders only, and the forms: declare, status, acknowledge, post update,
timeline, edit, resolution record; refusals come back as the page with the message. SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.incidents import from_slos, lifecycle
from opsloop.incidents import service as incidents
from opsloop.incidents.rules import Severity
from tests.incidents.helpers import declare, make_service
from tests.services.helpers import audit_count
from tests.web.pages import is_html, sign_in


def test_pages_render_with_badges_and_viewers_get_no_controls(
    client: TestClient, db: Database, tokens: dict[Role, str], frozen_clock: clock.FrozenClock
) -> None:
    make_service(db, "checkout")
    key = declare(db, services=["checkout"]).key
    declare(db, "Search slow", severity=Severity.SEV4)
    frozen_clock.advance(timedelta(hours=2))  # SEV2's 1 h target passed unacknowledged
    sign_in(client, "viewer")
    listing = client.get("/incidents")
    assert listing.status_code == 200 and is_html(listing)
    assert f'href="/incidents/{key}"' in listing.text
    assert 'data-testid="sla-badge">unacknowledged past target' in listing.text
    assert 'href="/incidents/new"' not in listing.text
    filtered = client.get("/incidents?service=checkout")
    assert filtered.text.count('data-testid="incident-row"') == 1
    assert client.get("/incidents?severity=SEV9").status_code == 422
    page = client.get(f"/incidents/{key}")
    assert page.status_code == 200 and 'data-testid="timeline"' in page.text
    assert 'data-testid="controls"' not in page.text
    assert client.get("/incidents/INC-2026-999").status_code == 404
    assert client.get("/incidents/new").status_code == 403


def test_a_responder_declares_and_runs_an_incident_from_the_pages(
    client: TestClient, db: Database, tokens: dict[Role, str], frozen_clock: clock.FrozenClock
) -> None:
    make_service(db, "checkout")
    csrf = sign_in(client, "responder")
    assert client.get("/incidents/new").status_code == 200
    refused = client.post(
        "/incidents/new",
        data={"title": "x", "severity": "SEV2", "services": "chekout", "csrf_token": csrf},
    )
    assert refused.status_code == 422 and 'data-field="services"' in refused.text
    created = client.post(
        "/incidents/new",
        data={
            "title": "Checkout errors",
            "severity": "SEV2",
            "services": "checkout",
            "commander": "responder",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    url = created.headers["location"]
    key = url.rsplit("/", 1)[1]
    assert 'data-testid="controls"' in client.get(url).text

    def post(path: str, **data: str) -> int:
        response = client.post(
            f"{url}/{path}", data={**data, "csrf_token": csrf}, follow_redirects=False
        )
        return response.status_code

    assert post("acknowledge") == 303
    assert (
        post("updates", template="investigating", audience="internal", next_update_minutes="15")
        == 303
    )
    assert post("timeline", kind="escalation", text="paged the DBA") == 303
    assert post("status", status="mitigating", note="rolled back") == 303
    assert post("status", status="identified") == 409  # back: the page with the message
    frozen_clock.advance(timedelta(minutes=20))
    page = client.get(url).text
    assert 'data-testid="overdue-badge"' in page and "paged the DBA" in page
    assert (
        post(
            "edit",
            title="Checkout errors",
            severity="SEV1",
            scribe="responder",
            services="checkout",
            started_at="2026-11-02T08:30",
        )
        == 303
    )
    assert post("edit", scribe="nobody", severity="SEV1", title="Checkout errors") == 422
    assert (
        post(
            "resolution", root_cause="pool exhausted", fix_applied="raised it", service_restored="1"
        )
        == 303
    )
    with db.read() as session:
        found = incidents.get_incident(session, key=key)
        events = lifecycle.timeline_of(session, key=key)
    assert (found.severity.value, found.scribe, found.status.value) == (
        "SEV1",
        "responder",
        "mitigating",
    )
    assert found.started_at.hour == 8 and found.acknowledged_at is not None
    assert found.resolution.diagnosis.root_cause == "pool exhausted"
    assert found.resolution.verification.service_restored
    assert any(e.kind.value == "communication" for e in events)
    before = audit_count(db)
    no_csrf = client.post(f"{url}/acknowledge", data={}, follow_redirects=False)
    assert no_csrf.status_code == 403 and audit_count(db) == before


def test_viewers_cannot_post_incident_forms(
    client: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    key = declare(db).key
    csrf = sign_in(client, "viewer")
    before = audit_count(db)
    for path in ("acknowledge", "status", "updates", "timeline", "edit", "resolution"):
        response = client.post(
            f"/incidents/{key}/{path}", data={"csrf_token": csrf, "status": "resolved"}
        )
        assert response.status_code == 403, path
    refused = client.post(
        "/incidents/new", data={"csrf_token": csrf, "title": "x", "severity": "SEV1"}
    )
    assert refused.status_code == 403
    assert audit_count(db) == before


def test_templates_page_read_by_all_edited_by_approvers(
    client: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    csrf = sign_in(client, "responder")
    page = client.get("/incidents/templates")
    assert page.status_code == 200 and "readonly" in page.text
    field = "investigating.external"
    refused = client.post("/incidents/templates", data={field: "x", "csrf_token": csrf})
    assert refused.status_code == 403
    csrf = sign_in(client, "approver")
    bad = client.post("/incidents/templates", data={field: "{nope}", "csrf_token": csrf})
    assert bad.status_code == 422 and "unknown placeholder" in bad.text
    saved = client.post(
        "/incidents/templates",
        data={field: "Looking into {services}.", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert "Looking into {services}." in client.get("/incidents/templates").text
    with db.read() as session:
        assert any(t.customised for t in lifecycle.list_templates(session))


def test_the_declaring_services_page_switches_a_service_for_responders(
    client: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    make_service(db, "search")
    csrf = sign_in(client, "viewer")
    page = client.get("/incidents/settings")
    assert page.status_code == 200 and 'data-testid="switch"' not in page.text
    refused = client.post(
        "/incidents/settings", data={"service": "search", "auto_declare": "on", "csrf_token": csrf}
    )
    assert refused.status_code == 403
    csrf = sign_in(client, "responder")
    bad = client.post(
        "/incidents/settings", data={"service": "nope", "auto_declare": "on", "csrf_token": csrf}
    )
    assert bad.status_code == 422 and 'data-field="service"' in bad.text
    done = client.post(
        "/incidents/settings",
        data={"service": "search", "auto_declare": "on", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with db.read() as session:
        assert from_slos.auto_declare_state(session, service="search").enabled
    shown = client.get("/incidents/settings").text
    assert "/services/search" in shown and "set for the service" in shown
