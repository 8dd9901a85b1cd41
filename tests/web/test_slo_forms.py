"""SLO writes in the browser: each needs the API route's role, the session's CSRF token, and
comes back as the form with the message when the input is bad. SQLite and PostgreSQL."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.slo import budget_policies, evaluation
from opsloop.slo import service as slo_service
from tests.helpers import bearer
from tests.web.pages import is_html, sign_in

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SPEC = (Path(__file__).parents[1] / "slo" / "fixtures" / "checkout_availability.yaml").read_text()


def _slo_count(db: Database) -> int:
    with db.read() as session:
        return len(slo_service.list_slos(session))


def _create(client: TestClient, tokens: dict[Role, str], objective: float = 99.9) -> int:
    created = client.post(
        "/api/v1/slos",
        json={"service": "api", "name": "availability", "objective": objective},
        headers=bearer(tokens[Role.approver]),
    )
    assert created.status_code == 201
    return int(created.json()["id"])


@pytest.fixture(autouse=True)
def _now(frozen_clock: clock.FrozenClock) -> None:
    frozen_clock.current = NOW


def test_an_approver_creates_a_pushed_slo_from_the_form(
    client: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    csrf = sign_in(client, "approver")
    assert 'href="/slos/new"' in client.get("/slos").text
    assert client.get("/slos/new").status_code == 200

    response = client.post(
        "/slos/new",
        data={"service": "api", "name": "availability", "objective": "99.9", "csrf_token": csrf},
        follow_redirects=False,
    )

    assert response.status_code == 303
    slo_id = int(response.headers["location"].rsplit("/", 1)[1])
    with db.read() as session:
        slo = slo_service.get_slo(session, ref=slo_id)
        assert (slo.service, slo.name, slo.objective, slo.source) == (
            "api",
            "availability",
            99.9,
            "push",
        )
        [record], _ = audit.page(session, flt=audit.AuditFilter(action="slo.create"))
        evaluated = slo_service.latest_results(session, slo_ids=[slo_id])
    assert record.actor == "approver"
    assert slo_id in evaluated  # the new SLO has a status at once, not after the next tick


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"objective": "abc"}, "objective", "objective: must be a number"),
        ({"objective": "100"}, "objective", "objective: Input should be less than 100"),
        ({"window": "forever"}, "window", ""),
        ({"name": ""}, "name", ""),
    ],
)
def test_bad_slo_input_comes_back_in_the_form(
    client: TestClient,
    db: Database,
    tokens: dict[Role, str],
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    csrf = sign_in(client, "approver")
    data = {"service": "web-shop", "name": "availability", "objective": "99.5", **changes}

    response = client.post("/slos/new", data={**data, "csrf_token": csrf})

    assert response.status_code == 422
    assert is_html(response)
    assert f'data-field="{field}"' in response.text
    assert message in html.unescape(response.text)
    assert 'value="web-shop"' in response.text
    assert _slo_count(db) == 0


@pytest.mark.parametrize("role", [Role.viewer, Role.responder])
def test_below_approver_there_is_no_create_control_and_posts_are_refused(
    client: TestClient, db: Database, tokens: dict[Role, str], role: Role
) -> None:
    csrf = sign_in(client, role.value)
    assert "/slos/new" not in client.get("/slos").text
    assert client.get("/slos/new").status_code == 403
    data = {"service": "api", "name": "x", "objective": "99", "csrf_token": csrf}

    assert client.post("/slos/new", data=data).status_code == 403
    assert client.post("/slos/apply", data={"spec": SPEC, "csrf_token": csrf}).status_code == 403
    assert _slo_count(db) == 0


def test_a_spec_is_applied_pasted_or_uploaded_and_errors_read_like_the_cli(
    client: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    csrf = sign_in(client, "approver")

    pasted = client.post("/slos/apply", data={"spec": SPEC, "csrf_token": csrf})
    assert pasted.status_code == 200
    assert "checkout/availability</a>: created" in pasted.text
    uploaded = client.post(
        "/slos/apply",
        data={"csrf_token": csrf},
        files={
            "file": (
                "checkout.yaml",
                SPEC.replace("target: 0.999", "target: 0.995"),
                "application/yaml",
            )
        },
    )
    assert uploaded.status_code == 200, uploaded.text
    assert "checkout/availability</a>: updated" in uploaded.text

    broken = client.post(
        "/slos/apply",
        data={"spec": SPEC.replace("duration: 30d", "duration: 30x"), "csrf_token": csrf},
    )
    assert broken.status_code == 422
    text = html.unescape(broken.text)
    assert "error: pasted spec: " in text
    assert "(nothing was applied)" in text
    assert SPEC.splitlines()[2] in text  # the pasted text stays in the form
    empty = client.post("/slos/apply", data={"spec": " ", "csrf_token": csrf})
    assert empty.status_code == 422 and 'data-field="spec"' in empty.text
    assert _slo_count(db) == 1


def test_an_admin_resets_a_rolling_slo_with_a_reason(
    client: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    slo_id = _create(client, tokens)
    csrf = sign_in(client, "admin")
    assert 'data-testid="reset-form"' in client.get(f"/slos/{slo_id}").text

    no_reason = client.post(f"/slos/{slo_id}/reset", data={"reason": " ", "csrf_token": csrf})
    assert no_reason.status_code == 422
    assert "a reset needs a reason" in no_reason.text and 'data-field="reason"' in no_reason.text
    done = client.post(
        f"/slos/{slo_id}/reset",
        data={"reason": "monitoring fault", "csrf_token": csrf},
        follow_redirects=False,
    )

    assert done.status_code == 303
    with db.read() as session:
        reasons = [p.reason for p in slo_service.periods(session, slo_id=slo_id)]
    assert reasons == ["SLO created", "monitoring fault"]


def test_an_approver_sees_no_reset_or_delete_and_is_refused(
    client: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    slo_id = _create(client, tokens)
    csrf = sign_in(client, "approver")
    page = client.get(f"/slos/{slo_id}").text
    assert 'data-testid="reset-form"' not in page
    assert 'data-testid="delete-slo"' not in page
    assert client.get(f"/slos/{slo_id}/delete").status_code == 403

    reset = client.post(f"/slos/{slo_id}/reset", data={"reason": "x", "csrf_token": csrf})
    delete = client.post(
        f"/slos/{slo_id}/delete", data={"confirm": "api/availability", "csrf_token": csrf}
    )

    assert (reset.status_code, delete.status_code) == (403, 403)
    with db.read() as session:
        assert len(slo_service.periods(session, slo_id=slo_id)) == 1
    assert _slo_count(db) == 1


def test_delete_asks_for_confirmation_first(
    client: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    slo_id = _create(client, tokens)
    csrf = sign_in(client, "admin")
    assert f'href="/slos/{slo_id}/delete"' in client.get(f"/slos/{slo_id}").text
    confirm_page = client.get(f"/slos/{slo_id}/delete")
    assert confirm_page.status_code == 200 and "cannot be undone" in confirm_page.text

    wrong = client.post(f"/slos/{slo_id}/delete", data={"confirm": "api", "csrf_token": csrf})
    assert wrong.status_code == 422 and "type api/availability to confirm" in wrong.text
    assert _slo_count(db) == 1
    missing_csrf = client.post(f"/slos/{slo_id}/delete", data={"confirm": "api/availability"})
    assert missing_csrf.status_code == 403
    assert _slo_count(db) == 1

    done = client.post(
        f"/slos/{slo_id}/delete",
        data={"confirm": "api/availability", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/slos"
    assert _slo_count(db) == 0


POLICY = """tiers:
- {threshold: 1.0, state: monitor, action: ship}
- {threshold: 0.2, state: freeze, action: stop, approver: VP}
"""


def test_an_admin_edits_the_budget_policy_and_others_only_read_it(
    client: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    _create(client, tokens)
    csrf = sign_in(client, "approver")
    read_only = client.get("/services/api/policy")
    assert read_only.status_code == 200 and 'data-testid="policy-form"' not in read_only.text
    refused = client.post("/services/api/policy", data={"tiers": POLICY, "csrf_token": csrf})
    assert refused.status_code == 403

    csrf = sign_in(client, "admin")
    assert 'data-testid="policy-form"' in client.get("/services/api/policy").text
    bad = client.post("/services/api/policy", data={"tiers": "tiers: [", "csrf_token": csrf})
    assert bad.status_code == 422 and "policy is not valid YAML" in bad.text
    assert "tiers: [" in bad.text  # the typed text stays
    deep = client.post(
        "/services/api/policy", data={"tiers": "tiers: " + "[" * 5000, "csrf_token": csrf}
    )
    assert deep.status_code == 422 and "nested deeper than" in deep.text  # the API's YAML limit
    saved = client.post("/services/api/policy", data={"tiers": POLICY, "csrf_token": csrf})
    assert saved.status_code == 200 and "Saved." in saved.text

    with db.read() as session:
        tiers = budget_policies.policy_config(budget_policies.policy_for(session, service="api"))
    assert [(t["state"], t["approver"]) for t in tiers] == [("monitor", None), ("freeze", "VP")]
    assert client.get("/services/nope/policy").status_code == 404


def test_the_overview_orders_slos_by_budget_left_and_lists_firing_alerts(
    client: TestClient, db: Database, tokens: dict[Role, str], frozen_clock: clock.FrozenClock
) -> None:
    good_id = _create(client, tokens)
    bad = client.post(
        "/api/v1/slos",
        json={"service": "pay", "name": "errors", "objective": 99.9},
        headers=bearer(tokens[Role.approver]),
    ).json()["id"]
    events = [
        {"timestamp": (NOW - timedelta(minutes=m)).isoformat(), "good": 980, "total": 1000}
        for m in range(1, 61)
    ]
    for slo_id, batch in [(bad, events), (good_id, [{**e, "good": 1000} for e in events])]:
        pushed = client.post(
            f"/api/v1/slos/{slo_id}/events",
            json={"events": batch},
            headers=bearer(tokens[Role.responder]),
        )
        assert pushed.status_code == 200
    evaluation.evaluate(db, now=clock.now())
    frozen_clock.advance(timedelta(minutes=2))  # the page alerts' for: 2m, pending until then
    evaluation.evaluate(db, now=clock.now())
    sign_in(client, "viewer")

    page = client.get("/").text

    first, second = page.index("pay/errors"), page.index("api/availability")
    assert first < second  # the overspent SLO comes first
    firing = page.split('data-testid="firing"')[1].split("</table>")[0]
    assert "pay/errors" in firing and "page-1h" in firing and "api/availability" not in firing
    assert 'data-testid="state-freeze"' in page and 'data-testid="state-monitor"' in page
    freeze = page.split('data-testid="state-freeze"')[1].split("</div>")[0]
    assert "pay" in freeze and "api" not in freeze
