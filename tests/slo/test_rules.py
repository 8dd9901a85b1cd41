"""Prometheus rule generation: unit checks of names, labels and expressions, and integration
tests that run the real promtool on generated rule files."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings

from opsloop.slo.rules import (
    burn_factor,
    error_ratio_expr,
    generate_rule_file,
    rule_windows,
    sli_hash,
)
from opsloop.slo.spec import (
    Alerting,
    BadTotalRatio,
    CalendarWindow,
    GoodTotalRatio,
    LatencyThreshold,
    PushedEvents,
    RawErrorRatio,
    RollingWindow,
    SeverityAlert,
    SLODefinition,
    parse_documents,
)
from opsloop.slo.windows import DEFAULT_ALERT_WINDOWS
from tests.slo.test_spec import unique

FIXTURES = Path(__file__).parent / "fixtures"
PROMTOOL_TESTS = Path(__file__).parent / "promtool"
WEEK_TESTS = PROMTOOL_TESTS / "week"
SELECTOR = '{slo_service="checkout",slo_name="availability"}'
LABELS = {"slo_service": "checkout", "slo_name": "availability", "slo_objective": "99.9"}


def checkout(**changes: Any) -> SLODefinition:
    """The checkout availability SLO of the promtool fixture, optionally altered."""
    [defn] = parse_documents((FIXTURES / "checkout_availability.yaml").read_text())
    return replace(defn, **changes)


def rule_file(defs: list[SLODefinition]) -> dict[str, Any]:
    """The rule file as Prometheus reads it: the generated YAML, parsed."""
    parsed: dict[str, Any] = yaml.safe_load(generate_rule_file(defs))
    return parsed


def recording_rules(defs: list[SLODefinition]) -> list[dict[str, Any]]:
    groups = rule_file(defs)["groups"]
    return [rule for group in groups for rule in group["rules"] if "record" in rule]


def alert_rules(defs: list[SLODefinition]) -> list[dict[str, Any]]:
    groups = rule_file(defs)["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def alerts_by_severity(defn: SLODefinition) -> dict[str, dict[str, Any]]:
    return {rule["labels"]["severity"]: rule for rule in alert_rules([defn])}


# --------------------------------------------------------------------------- recording rules


def test_recording_rule_names_follow_the_windows() -> None:
    records = [rule["record"] for rule in recording_rules([checkout()])]
    assert records == [
        "slo:sli_error:ratio_rate5m",
        "slo:sli_error:ratio_rate30m",
        "slo:sli_error:ratio_rate1h",
        "slo:sli_error:ratio_rate2h",
        "slo:sli_error:ratio_rate6h",
        "slo:sli_error:ratio_rate1d",
        "slo:sli_error:ratio_rate3d",
        "slo:sli_error:ratio_rate30d",
        "slo:objective:ratio",
        "slo:error_budget:remaining_ratio",
        "slo:sli_rules:info",
    ]


def test_every_recording_rule_carries_the_slo_labels() -> None:
    for rule in recording_rules([checkout()]):
        digest = {"slo_sli_hash": sli_hash(checkout())} if rule["record"].endswith("info") else {}
        assert rule["labels"] == {**LABELS, "tier": "1", **digest}


def test_the_info_rule_carries_the_digest_of_the_recorded_expressions() -> None:
    [info] = [r for r in recording_rules([checkout()]) if r["record"] == "slo:sli_rules:info"]
    assert info["expr"] == "vector(1)"
    assert len(info["labels"]["slo_sli_hash"]) == 16


def test_the_digest_changes_with_what_the_ratios_mean_only() -> None:
    """Another query or period changes the recorded ratios; labels and objective do not."""
    base = checkout()
    assert isinstance(base.indicator, BadTotalRatio)
    other_query = replace(
        base,
        indicator=replace(base.indicator, bad_query=base.indicator.bad_query.replace("5", "4")),
    )
    assert sli_hash(other_query) != sli_hash(base)
    assert sli_hash(replace(base, window=RollingWindow(timedelta(days=28)))) != sli_hash(base)
    assert sli_hash(replace(base, objective=99.5)) == sli_hash(base)
    assert sli_hash(replace(base, labels={"team": "x"})) == sli_hash(base)
    assert sli_hash(replace(base, name="other")) == sli_hash(base)  # the name is matched apart


def test_bad_total_expression() -> None:
    [rule] = [r for r in recording_rules([checkout()]) if r["record"].endswith("rate5m")]
    assert rule["expr"] == (
        '((sum(rate(http_requests_total{job="checkout",code=~"5.."}[5m]))) or on() vector(0))\n'
        "/\n"
        '(sum(rate(http_requests_total{job="checkout"}[5m])))'
    )


def test_good_total_expression() -> None:
    defn = checkout(indicator=GoodTotalRatio("sum(rate(ok[$window]))", "sum(rate(all[$window]))"))
    assert error_ratio_expr(defn, timedelta(hours=1)) == (
        "1 - (\n  ((sum(rate(ok[1h]))) or on() vector(0))\n  /\n  (sum(rate(all[1h])))\n)"
    )


def test_raw_expression_is_the_query_itself() -> None:
    defn = checkout(indicator=RawErrorRatio("avg_over_time(errors:ratio[$window])"))
    assert error_ratio_expr(defn, timedelta(days=3)) == "avg_over_time(errors:ratio[3d])"


def test_latency_expression_uses_bucket_and_count() -> None:
    indicator = LatencyThreshold("http_request_duration_seconds", "0.25", 'job="api"')
    defn = checkout(indicator=indicator, sli_kind="latency")
    assert error_ratio_expr(defn, timedelta(minutes=30)) == (
        "1 - (\n"
        '  (sum(rate(http_request_duration_seconds_bucket{job="api",le="0.25"}[30m]))'
        " or on() vector(0))\n"
        "  /\n"
        '  sum(rate(http_request_duration_seconds_count{job="api"}[30m]))\n'
        ")"
    )
    bare = checkout(indicator=LatencyThreshold("rpc_seconds", "1"), sli_kind="latency")
    assert 'rpc_seconds_bucket{le="1"}[5m]' in error_ratio_expr(bare, timedelta(minutes=5))
    assert "rpc_seconds_count[5m]" in error_ratio_expr(bare, timedelta(minutes=5))


def test_objective_and_budget_remaining() -> None:
    rules = {rule["record"]: rule for rule in recording_rules([checkout()])}
    assert rules["slo:objective:ratio"]["expr"] == "vector(0.999)"
    assert rules["slo:error_budget:remaining_ratio"]["expr"] == (
        f"1 - (slo:sli_error:ratio_rate30d{SELECTOR} / 0.001)"
    )


@pytest.mark.parametrize(
    ("window", "period_record"),
    [
        (CalendarWindow("week", "UTC"), "slo:sli_error:ratio_rate1w"),
        (CalendarWindow("month", "Europe/Berlin"), "slo:sli_error:ratio_rate30d"),
        (CalendarWindow("quarter", "Asia/Tokyo"), "slo:sli_error:ratio_rate90d"),
        (RollingWindow(timedelta(days=28)), "slo:sli_error:ratio_rate4w"),
    ],
)
def test_period_rule_uses_the_fixed_equivalent(
    window: CalendarWindow | RollingWindow, period_record: str
) -> None:
    defn = checkout(window=window)
    records = [rule["record"] for rule in recording_rules([defn])]
    assert records[len(rule_windows(defn)) - 1] == period_record
    assert f"{period_record}{SELECTOR} / 0.001" in records_expr(defn)


def records_expr(defn: SLODefinition) -> str:
    return "\n".join(rule["expr"] for rule in recording_rules([defn]))


def test_calendar_window_is_explained_in_a_comment() -> None:
    text = generate_rule_file([checkout(window=CalendarWindow("month", "Europe/Berlin"))])
    assert (
        "# SLO checkout/availability: 99.9%, calendar month (Europe/Berlin); "
        "these rules use the fixed 30d equivalent as the period.\n"
    ) in text
    rolling = generate_rule_file([checkout()])
    assert "# SLO checkout/availability: 99.9% over a rolling 30d window.\n" in rolling


# --------------------------------------------------------------------------- alert rules


def test_burn_factors_for_30_and_28_days() -> None:
    assert [burn_factor(row, checkout()) for row in DEFAULT_ALERT_WINDOWS] == [
        "14.4",
        "6",
        "3",
        "1",
    ]
    four_weeks = checkout(window=RollingWindow(timedelta(days=28)))
    factors = [burn_factor(row, four_weeks) for row in DEFAULT_ALERT_WINDOWS]
    assert factors == ["13.44", "5.6", "2.8", "0.9333333333"]  # Sloth's google-28d table


def test_burn_factors_below_one_are_clamped_for_short_periods() -> None:
    # 7d: 2 % of the budget in 1h is 0.02 * 168 = 3.36x, 5 % in 6h is 0.05 * 28 = 1.4x; the
    # ticket rows would be 0.1 * 7 = 0.7x and 0.1 * 7 / 3 = 0.233x, below a sustainable burn.
    week = checkout(window=RollingWindow(timedelta(days=7)))
    assert [burn_factor(row, week) for row in DEFAULT_ALERT_WINDOWS] == ["3.36", "1.4", "1", "1"]
    calendar_week = checkout(window=CalendarWindow("week", "UTC"))
    assert [burn_factor(row, calendar_week) for row in DEFAULT_ALERT_WINDOWS] == [
        "3.36",
        "1.4",
        "1",
        "1",
    ]


def test_page_alert_expression() -> None:
    page = alerts_by_severity(checkout())["page"]
    assert page["alert"] == "CheckoutAvailabilityErrorBudgetBurn"
    assert page["expr"] == (
        "(\n"
        f"  slo:sli_error:ratio_rate1h{SELECTOR} > (14.4 * 0.001)\n"
        "  and\n"
        f"  slo:sli_error:ratio_rate5m{SELECTOR} > (14.4 * 0.001)\n"
        ")\n"
        "or\n"
        "(\n"
        f"  slo:sli_error:ratio_rate6h{SELECTOR} > (6 * 0.001)\n"
        "  and\n"
        f"  slo:sli_error:ratio_rate30m{SELECTOR} > (6 * 0.001)\n"
        ")"
    )
    assert page["for"] == "2m"


def test_ticket_alert_expression() -> None:
    ticket = alerts_by_severity(checkout())["ticket"]
    assert ticket["expr"] == (
        "(\n"
        f"  slo:sli_error:ratio_rate1d{SELECTOR} > (3 * 0.001)\n"
        "  and\n"
        f"  slo:sli_error:ratio_rate2h{SELECTOR} > (3 * 0.001)\n"
        ")\n"
        "or\n"
        "(\n"
        f"  slo:sli_error:ratio_rate3d{SELECTOR} > (1 * 0.001)\n"
        "  and\n"
        f"  slo:sli_error:ratio_rate6h{SELECTOR} > (1 * 0.001)\n"
        ")"
    )
    assert ticket["for"] == "15m"


def test_alert_labels_and_annotations() -> None:
    alerts = alerts_by_severity(checkout())
    assert alerts["page"]["labels"] == {"severity": "page", "team": "payments"}
    assert alerts["ticket"]["labels"] == {"severity": "ticket", "team": "payments"}
    assert alerts["page"]["annotations"] == {
        "summary": "SLO checkout/availability (99.9% over 30d)"
        " is burning its error budget too fast",
        "description": "Error budget burn rate above 14.4x over 1h and 5m or 6x over 6h and 30m.",
        "runbook_url": "https://runbooks.example.com/checkout",
    }


def test_severity_options_override_shared_ones() -> None:
    alerting = Alerting(
        name="CheckoutSLO",
        labels={"team": "payments", "routing": "default"},
        annotations={"summary": "Checkout is failing"},
        page=SeverityAlert(name="CheckoutSLOPage", labels={"severity": "critical"}),
        ticket=SeverityAlert(labels={"routing": "tickets"}, annotations={"dashboard": "d/1"}),
    )
    alerts = alerts_by_severity(checkout(alerting=alerting))
    page, ticket = alerts["critical"], alerts["ticket"]
    assert (page["alert"], ticket["alert"]) == ("CheckoutSLOPage", "CheckoutSLO")
    assert page["labels"] == {"severity": "critical", "team": "payments", "routing": "default"}
    assert ticket["labels"] == {"severity": "ticket", "team": "payments", "routing": "tickets"}
    assert page["annotations"]["summary"] == "Checkout is failing"
    assert "runbook_url" not in page["annotations"]
    assert ticket["annotations"]["dashboard"] == "d/1"


def test_disabled_alerts_are_left_out() -> None:
    no_ticket = checkout(alerting=Alerting(ticket=SeverityAlert(enabled=False)))
    assert list(alerts_by_severity(no_ticket)) == ["page"]
    assert alert_rules([checkout(alerting=Alerting.disabled())]) == []


def test_rule_file_has_one_group_per_slo() -> None:
    defs = parse_documents((FIXTURES / "sloth_service.yaml").read_text())
    groups = rule_file(defs)["groups"]
    assert [group["name"] for group in groups] == [
        "slo/payments-api/requests-availability",
        "slo/payments-api/provider-errors",
    ]
    assert [len(group["rules"]) for group in groups] == [13, 12]  # 11 records + page (+ ticket)


def test_pushed_slos_get_no_rules() -> None:
    pushed = checkout(name="pushed", indicator=PushedEvents(), sli_kind=None)
    assert rule_file([pushed, checkout()]) == rule_file([checkout()])
    assert generate_rule_file([pushed]) == generate_rule_file([])
    with pytest.raises(ValueError, match="checkout/pushed takes pushed events"):
        error_ratio_expr(pushed, timedelta(minutes=5))


def test_empty_rule_file() -> None:
    assert yaml.safe_load(generate_rule_file([])) == {"groups": []}


# --------------------------------------------------------------------------- promtool


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool not found: install it with `apt-get install -y prometheus`")
    return path


def run_promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def write_rules(directory: Path, defs: list[SLODefinition]) -> Path:
    path = directory / "rules.yml"
    path.write_text(generate_rule_file(defs))
    return path


@pytest.mark.prometheus
@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*.yaml")))
def test_promtool_accepts_generated_rules(tmp_path: Path, fixture: str) -> None:
    defs = parse_documents((FIXTURES / fixture).read_text(), fixture)
    write_rules(tmp_path, defs)
    result = run_promtool("check", "rules", "rules.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(recording_rules(defs)) + len(alert_rules(defs))} rules found" in (
        result.stdout
    )


@pytest.mark.prometheus
@pytest.mark.parametrize("scenario", sorted(p.name for p in PROMTOOL_TESTS.glob("*.yml")))
def test_promtool_burn_rate_scenarios(tmp_path: Path, scenario: str) -> None:
    """burn_15x pages within minutes, burn_7x pages, burn_1x only tickets, healthy is quiet."""
    write_rules(tmp_path, [checkout()])
    shutil.copy(PROMTOOL_TESTS / scenario, tmp_path / scenario)
    result = run_promtool("test", "rules", scenario, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.prometheus
@pytest.mark.parametrize(
    "scenario", sorted(p.name for p in (PROMTOOL_TESTS / "week").glob("*.yml"))
)
def test_promtool_week_slo_tickets_only_unsustainable_burns(tmp_path: Path, scenario: str) -> None:
    """A 7d SLO at 0.5x never tickets; at 1.2x it tickets (factors clamped at 1)."""
    write_rules(tmp_path, [checkout(window=RollingWindow(timedelta(days=7)))])
    shutil.copy(WEEK_TESTS / scenario, tmp_path / scenario)
    result = run_promtool("test", "rules", scenario, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.prometheus
def test_promtool_scenarios_catch_a_broken_generator(tmp_path: Path) -> None:
    """Without the 14.4x row the 15x burn no longer pages by 5m: the scenario must fail."""
    no_fast_page = checkout(alerting=Alerting(page=SeverityAlert(enabled=False)))
    write_rules(tmp_path, [no_fast_page])
    shutil.copy(PROMTOOL_TESTS / "burn_15x.yml", tmp_path / "burn_15x.yml")
    result = run_promtool("test", "rules", "burn_15x.yml", cwd=tmp_path)
    assert result.returncode != 0
    assert 'severity="page"' in result.stdout + result.stderr


def _templated(defn: SLODefinition) -> list[str]:
    """Alert label and annotation values (Prometheus expands these as templates)."""
    alerting = defn.alerting
    maps = [alerting.labels, alerting.annotations]
    maps += [options.labels for options in (alerting.page, alerting.ticket)]
    maps += [options.annotations for options in (alerting.page, alerting.ticket)]
    return [value for mapping in maps for value in mapping.values()]


@pytest.mark.prometheus
@settings(deadline=None, max_examples=25, suppress_health_check=list(HealthCheck))
@given(unique())
def test_promtool_accepts_rules_for_generated_definitions(defs: list[SLODefinition]) -> None:
    """Odd label values, windows and objectives still give a rule file promtool accepts."""
    assume(not any("{{" in value for defn in defs for value in _templated(defn)))
    with TemporaryDirectory() as directory:
        write_rules(Path(directory), defs)
        result = run_promtool("check", "rules", "rules.yml", cwd=Path(directory))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.prometheus
def test_promtool_check_rules_rejects_broken_promql(tmp_path: Path) -> None:
    broken = checkout(indicator=BadTotalRatio("sum(rate(x[$window])", "sum(rate(y[$window]))"))
    write_rules(tmp_path, [broken])
    result = run_promtool("check", "rules", "rules.yml", cwd=tmp_path)
    assert result.returncode != 0
