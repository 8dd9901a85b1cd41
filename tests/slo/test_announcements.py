"""The messages an evaluation sends: readable first, with the numbers receivers need."""

from __future__ import annotations

from opsloop.slo.announcements import (
    ALERT_FIRING,
    ALERT_RESOLVED,
    POLICY_CHANGED,
    Subject,
    alert_changed,
    policy_changed,
)
from opsloop.slo.math import NoData

SUBJECT = Subject(
    slo_id=7,
    service="checkout",
    name="availability",
    objective=99.9,
    budget_remaining=0.4213,
    policy_state="caution",
    policy_action="prioritise reliability work",
)
ALERT = {
    "alert": "page-1h",
    "severity": "page",
    "factor": 14.4,
    "long_burn": 20.0,
    "short_burn": 31.25,
    "firing": True,
}


def test_a_firing_alert_names_service_slo_burn_rates_and_budget() -> None:
    sent = alert_changed(SUBJECT, ALERT)
    assert sent.event_type == ALERT_FIRING
    assert sent.service == "checkout" and sent.path == "/slos/7"
    assert sent.summary == (
        "[PAGE] checkout/availability: burn-rate alert page-1h firing; burn rate 20.00x "
        "(long window) / 31.25x (short window), threshold 14.40x; error budget left 42.1%"
    )
    assert sent.data["slo"] == {"id": 7, "service": "checkout", "name": "availability"}
    assert sent.data["long_burn"] == 20.0 and sent.data["budget_remaining"] == 0.4213


def test_a_resolved_alert_without_data_says_so() -> None:
    subject = Subject(7, "checkout", "availability", 99.9, NoData("no events"), "no_data", "")
    sent = alert_changed(subject, ALERT | {"firing": False, "short_burn": None})
    assert sent.event_type == ALERT_RESOLVED
    assert "resolved" in sent.summary and "n/a (short window)" in sent.summary
    assert "budget left unknown (no data)" in sent.summary
    assert sent.data["short_burn"] is None and sent.data["budget_remaining"] is None


def test_a_policy_change_names_both_states_and_the_action() -> None:
    sent = policy_changed(SUBJECT, "healthy")
    assert sent.event_type == POLICY_CHANGED
    assert sent.summary == (
        "checkout/availability: error-budget policy healthy -> caution (budget left 42.1%); "
        "prioritise reliability work"
    )
    assert sent.data["before"] == "healthy" and sent.data["policy_state"] == "caution"
