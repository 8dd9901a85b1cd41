"""``opsloop change assess`` and ``opsloop change verify``: the impact of a planned change
before it is submitted, and the verification of a completed one, as the API answers them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from opsloop.changes import assessment, silencing, verification
from opsloop.changes.assessment import Assessment
from opsloop.changes.deps import policy_of
from opsloop.changes.impact_schemas import AssessmentOut, SilenceOut, VerificationOut
from opsloop.changes.jobs import verify_rules
from opsloop.changes.verification import VerificationView
from opsloop.core.cliutil import cli_principal, console, database, fail, settings
from opsloop.slo.prometheus import PrometheusClient

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _time(text: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"{option}: not a date-time {text!r} (like 2026-11-02T08:50Z)")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _percent(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def _ratio(value: float | None) -> str:
    return "no data" if value is None else f"{value * 100:.4g}%"


def _burn(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def print_assessment(found: Assessment) -> None:
    out = console.print
    out(
        f"{found.service}: suggested risk {found.risk.value.upper()} for "
        f"{found.window_start:%Y-%m-%d %H:%M} to {found.window_end:%H:%M} UTC",
        markup=False,
    )
    for reason in found.reasons:
        out(f"  - {reason}", markup=False)
    state = found.budget.get("state")
    out(f"  policy state {state}{' (blocks changes)' if found.gate_blocks else ''}", markup=False)
    for slo in found.slos:
        burns = ", ".join(f"{w} {b:.2f}x" for w, b in (slo.get("burn_rates") or {}).items() if b)
        out(
            f"  SLO {slo['name']}: {slo.get('state')}, budget left "
            f"{_percent(slo.get('budget_remaining'))}{'; burn ' + burns if burns else ''}",
            markup=False,
        )
    for incident in found.incidents:
        out(
            f"  incident {incident.key} {incident.severity} {incident.status}: {incident.title}",
            markup=False,
        )
    for alert in found.alerts:
        out(
            f"  alert firing: {alert.name} ({alert.severity}) since {alert.starts_at:%H:%M}",
            markup=False,
        )
    for change in found.changes:
        out(
            f"  change {change.key} on {change.service} ({change.state.value}): {change.title}",
            markup=False,
        )
    for frozen in found.freezes:
        out(f"  {frozen.describe()}", markup=False)
    rate = found.failure_rate
    out(
        f"  change failure rate (90 days{', ' + rate.category if rate.category else ''}): "
        f"{_percent(rate.rate, 0)} ({rate.failed} of {rate.finished} finished)",
        markup=False,
    )


def print_verification(found: VerificationView) -> None:
    out = console.print
    out(f"{found.key}: verification {found.verdict or 'not run'}", markup=False)
    if found.rollback_proposed:
        out("  ROLLBACK PROPOSED: the SLIs are clearly worse than before the change", markup=False)
    for check in found.checks:
        out(
            f"  {check.slo_ref}: {check.verdict} — errors {_ratio(check.before)} before, "
            f"{_ratio(check.after)} after (burn {_burn(check.burn_before)} → "
            f"{_burn(check.burn_after)}); {check.reason}",
            markup=False,
        )


def register(app: typer.Typer) -> None:
    @app.command("assess")
    def assess(
        service: Annotated[str, typer.Option(help="A service of the catalog.")],
        window_start: Annotated[
            str | None, typer.Option(metavar="TIME", help="ISO 8601; UTC without a zone; now.")
        ] = None,
        duration: Annotated[
            int, typer.Option(metavar="MINUTES", min=1, max=7 * 24 * 60, help="Window length.")
        ] = 60,
        category: Annotated[str | None, typer.Option(help="For the failure rate.")] = None,
        as_json: JsonFlag = False,
    ) -> None:
        """The impact of changing a service in a window, with a suggested risk level."""
        start = _time(window_start, "--window-start") if window_start else None
        with database().read() as session:
            found = assessment.assess(
                session,
                service=service,
                start=start,
                duration=timedelta(minutes=duration),
                category=category,
                policy=policy_of(settings()),
            )
        if as_json:
            console.print_json(json.dumps(AssessmentOut.of(found).model_dump(mode="json")))
        else:
            print_assessment(found)

    @app.command("verify")
    def verify(
        key: Annotated[str, typer.Argument(metavar="KEY", help="CR-YYYY-NNN")],
        as_json: JsonFlag = False,
    ) -> None:
        """Compare the service's SLIs before the window and after completion; record it."""
        config = settings()
        client = PrometheusClient(config.prometheus_url) if config.prometheus_url else None
        try:
            with database().write() as session:
                found = verification.verify(
                    session,
                    principal=cli_principal(),
                    key=key,
                    prometheus=client,
                    rules=verify_rules(config),
                    policy=policy_of(config),
                )
        finally:
            if client is not None:
                client.close()
        if as_json:
            console.print_json(json.dumps(VerificationOut.of(found).model_dump(mode="json")))
        else:
            print_verification(found)

    @app.command("silence")
    def silence(
        key: Annotated[str, typer.Argument(metavar="KEY", help="CR-YYYY-NNN")],
        enabled: Annotated[
            bool, typer.Option("--on/--off", help="Silence the service's alerts while it runs.")
        ] = True,
        matcher: Annotated[
            list[str] | None,
            typer.Option(help="Alertmanager matcher, repeatable (default: the change's service)."),
        ] = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Silence the service's alerts in Alertmanager during the change (before it starts)."""
        with database().write() as session:
            found = silencing.set_silence(
                session, principal=cli_principal(), key=key, enabled=enabled, matchers=matcher
            )
        if as_json:
            console.print_json(json.dumps(SilenceOut.of(found).model_dump(mode="json")))
        else:
            state = "silences" if found.silence_alerts else "does not silence"
            console.print(
                f"{found.key} {state} alerts matching {', '.join(found.matchers)}", markup=False
            )
