from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml

from opsloop.core import clock
from opsloop.core.cliutil import cli_principal, console, database, fail, note, settings
from opsloop.core.errors import NotFound, OpsloopError
from opsloop.slo import budget_policies
from opsloop.slo import service as slo_service
from opsloop.slo.cli_format import exhaustion_text, health, percent, status_table, times
from opsloop.slo.exporting import export_what_fits
from opsloop.slo.rules import generate_rule_file
from opsloop.slo.spec.checks import SpecError
from opsloop.slo.spec.yaml_io import load_documents

if TYPE_CHECKING:
    from opsloop.slo.prometheus import PrometheusClient

# Evaluation and the Prometheus client (with its HTTP library) are imported by the commands
# that use them: every other command, `opsloop serve` among them, starts faster without.

slo = typer.Typer(help="SLOs and error budgets.", no_args_is_help=True)
policy_app = typer.Typer(help="Error-budget policies per service.", no_args_is_help=True)
slo.add_typer(policy_app, name="policy")

SloRef = Annotated[
    str, typer.Argument(metavar="SLO", help="service/name (or a name used by one service only)")
]
ServiceFilter = Annotated[
    str | None, typer.Option(metavar="SERVICE", help="Only this service's SLOs.")
]
OutputFile = Annotated[
    Path | None,
    typer.Option("--output", "-o", metavar="FILE", help="Write here instead of to stdout."),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
NEW_SLO_HINT = "create them with 'opsloop slo apply -f FILE'"


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
    from opsloop.slo.prometheus import PrometheusClient

    url = settings().prometheus_url
    return PrometheusClient(url) if url else None


def _chosen(session: Any, service: str | None) -> list[Any]:
    """The SLOs a command works on; an unknown service is a usage error."""
    found = slo_service.list_slos(session, service=service)
    if service and not found:
        fail(f"no SLOs for service {service!r}{_known_services(session)}")
    return found


def _known_services(session: Any) -> str:
    names = sorted({s.service for s in slo_service.list_slos(session)})
    return f"; services: {', '.join(names)}" if names else "; there are no SLOs yet"


@contextmanager
def _naming_hint(ref: str) -> Iterator[None]:
    """Turn "no SLO 'x'" into a message that shows how SLOs are named and which exist."""
    try:
        yield
    except NotFound as exc:
        if exc.field != "slo":
            raise
        with database().read() as session:
            known = [f"{s.service}/{s.name}" for s in slo_service.list_slos(session)]
        fail(f"no SLO {ref!r}; {_closest(ref, known)}")


def _closest(ref: str, known: list[str]) -> str:
    import difflib

    if not known:
        return f"there are no SLOs yet; {NEW_SLO_HINT}"
    of_service = [k for k in known if k.split("/", 1)[0] == ref]
    if of_service:
        return f"{ref!r} is a service; name one of its SLOs: {', '.join(of_service)}"
    close = difflib.get_close_matches(ref, known, n=3, cutoff=0.5)
    close += [k for k in known if ref in k.split("/", 1)[1:] and k not in close]
    if close:
        return f"name it as service/name; did you mean {', '.join(close)}?"
    listed = ", ".join(known[:10]) + (f" and {len(known) - 10} more" if len(known) > 10 else "")
    return f"name it as service/name; SLOs: {listed}"


@slo.command("apply")
def apply(
    files: Annotated[
        list[str],
        typer.Option("--file", "-f", metavar="FILE", help="YAML file, or - for stdin; repeatable"),
    ],
) -> None:
    """Create or update SLOs from OpenSLO v1 / Sloth prometheus/v1 YAML (all files or none)."""
    texts = [_read(f) for f in files]
    for text, name in texts:
        if not slo_service.parse_specs(text, name):
            fail(f"{name}: the file holds no SLO documents (nothing was applied)")
    db = database()
    with db.write() as session:
        applied = [
            a
            for text, name in texts
            for a in slo_service.apply_specs(
                session, principal=cli_principal(), text=text, source=name
            )
        ]
    for a in applied:
        console.print(f"{a.service}/{a.name}: {a.outcome}")
    changed = [a.slo_id for a in applied if a.outcome != "unchanged"]
    if changed:  # show a status at once rather than after the scheduler's next tick
        from opsloop.slo import evaluation

        client = _prometheus()
        try:
            evaluation.evaluate(db, now=clock.now(), prometheus=client, slo_ids=changed)
        finally:
            if client:
                client.close()


@slo.command("export")
def export(
    fmt: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="openslo or sloth")
    ] = "openslo",
    service: ServiceFilter = None,
    output: OutputFile = None,
) -> None:
    """Write the SLOs as YAML, all those the format can express.

    Those it cannot are named on stderr and left out; the exit code is then 1.
    """
    with database().read() as session:
        if not _chosen(session, service):
            fail(f"there are no SLOs yet; {NEW_SLO_HINT}")
        result = export_what_fits(session, fmt=fmt, service_name=service)
    for skipped in result.skipped:
        note(f"skipped {skipped.slo}: {skipped.reason}")
    if not result.exported:
        fail(f"none of the SLOs can be expressed as {fmt}")
    _emit(result.text, output)
    if result.skipped:
        note(f"exported {len(result.exported)} SLOs, skipped {len(result.skipped)}")
        raise typer.Exit(1)


@slo.command("rules")
def rules(service: ServiceFilter = None, output: OutputFile = None) -> None:
    """Prometheus recording and multiwindow burn-rate alert rules for the Prometheus SLOs.

    Exits 2 and writes nothing when no SLO needs rules (push SLOs do not).
    """
    with database().read() as session:
        chosen = _chosen(session, service)
    if not chosen:
        fail(f"there are no SLOs yet; {NEW_SLO_HINT}")
    defs = [slo_service.definition(s) for s in chosen if s.source != "push"]
    if not defs:
        scope = f"service {service!r}" if service else "any service"
        fail(f"no Prometheus SLOs for {scope}: push SLOs need no rules (nothing was written)")
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
        if ref:
            with _naming_hint(ref):
                chosen = [slo_service.get_slo(session, ref=ref)]
        else:
            chosen = _chosen(session, service)
    from opsloop.slo import evaluation

    client = _prometheus()
    try:
        statuses = evaluation.evaluate(
            db, now=clock.now(), prometheus=client, slo_ids=[s.id for s in chosen], persist=False
        )
    finally:
        if client:
            client.close()
    return [(s, statuses[s.id].to_json()) for s in chosen]


@slo.command("status")
def status(service: ServiceFilter = None, as_json: JsonFlag = False) -> None:
    """Every SLO: health, target, current SLI, budget left, burn rates, policy state.

    health: ok, alerting (a burn-rate alert fires), exhausted (no budget left), no data.
    """
    rows = _fresh(service=service)
    if as_json:
        out = [
            {"id": s.id, "service": s.service, "name": s.name, "health": health(r), **r}
            for s, r in rows
        ]
        print(json.dumps(out, indent=2))
        return
    if not rows:
        note(f"there are no SLOs yet; {NEW_SLO_HINT}")
        return
    console.print(status_table(rows))


@slo.command("budget")
def budget(name: SloRef, as_json: JsonFlag = False) -> None:
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
            f"SLI               {percent(r['sli'])}",
            f"budget remaining  {percent(b['remaining'], 1)} ({b['remaining_minutes']:.1f} of "
            f"{b['total_minutes']:.1f} min)",
            f"burn rate (1h)    {times(r['burn_rates']['1h'])}",
            f"exhaustion        {exhaustion_text(r)}",
            f"in 24 h           {percent(r['forecast_24h_remaining'], 1)} left at this burn",
        ]
    lines.append(f"policy            {r['policy']['state']}: {r['policy']['action']}")
    firing = [a["alert"] for a in r["alerts"] if a["firing"]]
    lines.append(f"alerts firing     {', '.join(firing) or 'none'}")
    for line in lines:
        print(line)


@slo.command("reset")
def reset(
    name: SloRef,
    reason: Annotated[str, typer.Option(metavar="TEXT", help="Why (recorded in the audit).")],
) -> None:
    """Start a new budget period for a rolling SLO (audited)."""
    with _naming_hint(name), database().write() as session:
        period = slo_service.reset_budget(
            session, principal=cli_principal(), ref=name, reason=reason
        )
    console.print(f"new budget period from {period.started_at:%Y-%m-%d %H:%M:%S} UTC")


@slo.command("delete")
def delete(
    name: SloRef,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete an SLO with its events, evaluations and budget periods (audited).

    Asks first; without a terminal to ask on, --yes is required.
    """
    with _naming_hint(name), database().read() as session:
        found = slo_service.get_slo(session, ref=name)
        shown = f"{found.service}/{found.name}"
    if not yes:
        if not sys.stdin.isatty():
            fail(f"not deleting {shown} without confirmation; pass --yes")
        if not typer.confirm(f"Delete SLO {shown} and all its history?"):
            fail("nothing was deleted", 1)
    with _naming_hint(name), database().write() as session:
        slo_service.delete_slo(session, principal=cli_principal(), ref=found.id)
    console.print(f"deleted {shown}")


@slo.command("evaluate")
def evaluate_now() -> None:
    """Evaluate every SLO once and record alert and policy changes (what the scheduler does)."""
    from opsloop.slo import jobs

    statuses = jobs.evaluate_now(database(), settings())
    console.print(f"evaluated {len(statuses)} SLOs")


ServiceArg = Annotated[str, typer.Argument(metavar="SERVICE", help="The service's name.")]


@policy_app.command("show")
def policy_show(service: ServiceArg) -> None:
    """Print a service's policy tiers as YAML (the default policy if none was set)."""
    with database().read() as session:
        tiers = budget_policies.policy_config(budget_policies.policy_for(session, service=service))
    print(yaml.safe_dump({"service": service, "tiers": tiers}, sort_keys=False), end="")


@policy_app.command("set")
def policy_set(
    service: ServiceArg,
    file: Annotated[
        str, typer.Option("--file", "-f", metavar="FILE", help="Policy YAML, or - for stdin.")
    ],
) -> None:
    """Set the error-budget policy of a service that has SLOs (audited).

    The YAML file holds a mapping with a list of tiers, as 'opsloop slo policy show' prints.
    """
    text, name = _read(file)
    try:
        documents = load_documents(text, name)
    except SpecError as exc:  # "line L, column C: invalid YAML: ..."
        where = "; ".join(f"{p.path}: {p.reason}" if p.path else p.reason for p in exc.problems)
        fail(f"{name}: {where} (nothing was applied)")
    config = documents[0] if len(documents) == 1 else None
    if not isinstance(config, dict):
        fail(f"{name}: expected one YAML mapping with 'tiers' (nothing was applied)")
    with database().write() as session:
        if not slo_service.list_slos(session, service=service):
            fail(
                f"no SLOs for service {service!r}{_known_services(session)}; "
                "apply its SLOs first (nothing was applied)"
            )
        try:
            budget_policies.set_policy(
                session, principal=cli_principal(), service=service, config=config
            )
        except OpsloopError as exc:
            fail(f"{name}: {exc.message} (nothing was applied)")
    console.print(f"policy of {service} updated")
