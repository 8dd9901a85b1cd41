from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Column, Table

from opsloop.core import clock
from opsloop.core.cliutil import cli_principal, console, database, fail, settings
from opsloop.slo import evaluation
from opsloop.slo import service as slo_service
from opsloop.slo.prometheus import PrometheusClient
from opsloop.slo.rules import generate_rule_file

slo = typer.Typer(help="SLOs and error budgets.", no_args_is_help=True)
policy_app = typer.Typer(help="Error-budget policies per service.", no_args_is_help=True)
slo.add_typer(policy_app, name="policy")

MARKS = {"monitor": "✓", "optimize": "!", "mitigate": "!!", "freeze": "✗", "no_data": "?"}


def _read(path: str) -> tuple[str, str]:
    if path == "-":
        return sys.stdin.read(), "<stdin>"
    file = Path(path)
    if not file.is_file():
        fail(f"-f: no such file {path}")
    try:
        return file.read_text(encoding="utf-8"), path
    except UnicodeDecodeError:
        fail(f"{path}: not UTF-8 text")


def _prometheus() -> PrometheusClient | None:
    url = settings().prometheus_url
    return PrometheusClient(url) if url else None


@slo.command("apply")
def apply(
    files: Annotated[list[str], typer.Option("--file", "-f", help="YAML file, or - for stdin")],
) -> None:
    """Create or update SLOs from OpenSLO v1 / Sloth prometheus/v1 YAML (all files or none)."""
    texts = [_read(f) for f in files]
    with database().write() as session:
        applied = [
            a
            for text, name in texts
            for a in slo_service.apply_specs(session, cli_principal(), text, name)
        ]
    for a in applied:
        console.print(f"{a.service}/{a.name}: {a.outcome}")


@slo.command("export")
def export(
    fmt: Annotated[str, typer.Option("--format", help="openslo or sloth")] = "openslo",
    service: Annotated[str | None, typer.Option()] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    with database().read() as session:
        text = slo_service.export_specs(session, fmt, service)
    _emit(text, output)


@slo.command("rules")
def rules(
    service: Annotated[str | None, typer.Option()] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Prometheus recording and multiwindow burn-rate alert rules for the SLOs."""
    with database().read() as session:
        defs = [
            slo_service.definition(s)
            for s in slo_service.list_slos(session, service)
            if s.source != "push"
        ]
    _emit(generate_rule_file(defs), output)


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}")


def _fresh(service: str | None = None, ref: str | None = None) -> list[tuple[Any, dict[str, Any]]]:
    db = database()
    with db.read() as session:
        chosen = (
            [slo_service.get_slo(session, ref)] if ref else slo_service.list_slos(session, service)
        )
    client = _prometheus()
    try:
        statuses = evaluation.evaluate(
            db, clock.now(), prometheus=client, slo_ids=[s.id for s in chosen], persist=False
        )
    finally:
        if client:
            client.close()
    return [(s, statuses[s.id].to_json()) for s in chosen]


def _pct(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def _burn(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


@slo.command("status")
def status(
    service: Annotated[str | None, typer.Option()] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Every SLO: target, current SLI, budget left, burn rates, policy state."""
    rows = _fresh(service=service)
    if as_json:
        out = [{"id": s.id, "service": s.service, "name": s.name, **r} for s, r in rows]
        print(json.dumps(out, indent=2))
        return
    table = Table(
        "",
        Column("SLO", min_width=22, overflow="fold"),
        "target",
        "current",
        "budget left",
        "burn 1h",
        "burn 6h",
        "policy",
    )
    for s, r in rows:
        state = r["policy"]["state"]
        budget = r["budget"]
        table.add_row(
            MARKS.get(state, "?"),
            f"{s.service}/{s.name}",
            f"{r['objective']}%",
            _pct(r["sli"]),
            _pct(budget["remaining"], 1) if budget else "no data",
            _burn(r["burn_rates"]["1h"]),
            _burn(r["burn_rates"]["6h"]),
            state + (" (page)" if r["alert_severity"] == "page" else ""),
        )
    console.print(table)


@slo.command("budget")
def budget(name: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One SLO's budget: remaining, burn rate, time to exhaustion, 24 h forecast."""
    ((s, r),) = _fresh(ref=name)
    if as_json:
        print(json.dumps({"id": s.id, "service": s.service, "name": s.name, **r}, indent=2))
        return
    b = r["budget"]
    lines = [f"{s.service}/{s.name}  objective {r['objective']}% over {r['period']['length']}"]
    if r["no_data_reason"]:
        lines.append(f"no data: {r['no_data_reason']}")
    if b:
        lines += [
            f"SLI               {_pct(r['sli'])}",
            f"budget remaining  {_pct(b['remaining'], 1)} ({b['remaining_minutes']:.1f} of "
            f"{b['total_minutes']:.1f} min)",
            f"burn rate (1h)    {_burn(r['burn_rates']['1h'])}",
            f"exhaustion        {_exhaustion(r)}",
            f"in 24 h           {_pct(r['forecast_24h_remaining'], 1)} left at this burn",
        ]
    lines.append(f"policy            {r['policy']['state']}: {r['policy']['action']}")
    firing = [a["alert"] for a in r["alerts"] if a["firing"]]
    lines.append(f"alerts firing     {', '.join(firing) or 'none'}")
    for line in lines:
        print(line)


def _exhaustion(r: dict[str, Any]) -> str:
    seconds = r["time_to_exhaustion_seconds"]
    if r["exhaustion"] == "exhausted":
        return "exhausted"
    if seconds is None:
        return "never at the current burn" if r["exhaustion"] == "never" else "no data"
    hours = seconds / 3600
    return f"in {hours / 24:.1f} days" if hours >= 48 else f"in {hours:.1f} hours"


@slo.command("reset")
def reset(name: str, reason: Annotated[str, typer.Option(help="why (recorded)")]) -> None:
    """Start a new budget period for a rolling SLO (audited)."""
    with database().write() as session:
        period = slo_service.reset_budget(session, cli_principal(), name, reason)
    console.print(f"new budget period from {period.started_at:%Y-%m-%d %H:%M:%S} UTC")


@slo.command("delete")
def delete(name: str) -> None:
    with database().write() as session:
        slo_service.delete_slo(session, cli_principal(), name)
    console.print(f"deleted {name}")


@slo.command("evaluate")
def evaluate_now() -> None:
    """Evaluate every SLO once and record alert and policy changes (what the scheduler does)."""
    client = _prometheus()
    try:
        statuses = evaluation.evaluate(database(), clock.now(), prometheus=client)
    finally:
        if client:
            client.close()
    console.print(f"evaluated {len(statuses)} SLOs")


@policy_app.command("show")
def policy_show(service: str) -> None:
    with database().read() as session:
        tiers = slo_service.policy_config(slo_service.policy_for(session, service))
    print(yaml.safe_dump({"service": service, "tiers": tiers}, sort_keys=False), end="")


@policy_app.command("set")
def policy_set(service: str, file: Annotated[str, typer.Option("--file", "-f")]) -> None:
    """Set a service's policy from YAML: ``tiers: [{threshold, state, action, approver}]``."""
    text, name = _read(file)
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        fail(f"{name}: invalid YAML: {exc}")
    if not isinstance(config, dict):
        fail(f"{name}: expected a mapping with 'tiers'")
    with database().write() as session:
        slo_service.set_policy(session, cli_principal(), service, config)
    console.print(f"policy of {service} updated")
