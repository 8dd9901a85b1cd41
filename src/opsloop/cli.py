"""The ``opsloop`` command."""

from __future__ import annotations

import json
import os
import socket
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from opsloop import __version__
from opsloop.core.audit.cli import audit
from opsloop.core.auth.cli import tokens, users
from opsloop.core.bootstrap import ADMIN_USERNAME, first_start
from opsloop.core.cliutil import (
    LazyGroup,
    console,
    fail,
    run_cli,
    settings,
    sqlite_file,
    unmigrated_database,
)
from opsloop.core.config import ENV_PREFIX, Settings, mask_url_password
from opsloop.core.db import connection_budget_problem, usable_connections
from opsloop.core.logsetup import configure_logging


def _slo_demo(session: Session) -> None:
    from opsloop.slo import demo  # only a first start with demo data needs it

    demo.seed(session)


def _catalog_demo(session: Session) -> None:
    from opsloop.services import demo

    demo.seed(session)


# A new domain adds its demo data here (made on a first start with --demo or OPSLOOP_DEMO_DATA).
# In order: the SLOs name their services, which the catalog then gives owners.
DEMO_SEEDERS = [_slo_demo, _catalog_demo]


class _Commands(LazyGroup):
    # A new domain adds its command group here: imported when it is used, so that `serve`
    # and the core commands start without importing every domain.
    lazy = {
        "slo": ("opsloop.slo.cli", "slo"),
        "service": ("opsloop.services.cli", "services_app"),
        "team": ("opsloop.services.cli", "teams_app"),
        "notify": ("opsloop.notifications.cli", "notify"),
        # cli_import adds `incident import` to the group defined in opsloop.incidents.cli.
        "incident": ("opsloop.incidents.cli_import", "incident_app"),
        "reliability": ("opsloop.incidents.cli_reliability", "reliability_app"),
        "alerts": ("opsloop.alerts.cli", "alerts_app"),
        "pir": ("opsloop.pirs.cli", "pir_app"),
        "action": ("opsloop.actions.cli", "action_app"),
        "change": ("opsloop.changes.cli", "change_app"),
        "freeze": ("opsloop.changes.cli_freeze", "freeze_app"),
    }


app = typer.Typer(
    cls=_Commands,
    help="opsloop: SLOs, incidents, reviews and changes in one loop.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Create and upgrade the database schema.", no_args_is_help=True)
config_app = typer.Typer(help="Inspect the effective settings.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(users, name="user")
app.add_typer(tokens, name="token")
app.add_typer(audit, name="audit")


def _print_version(wanted: bool) -> None:
    if wanted:
        print(f"opsloop {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    pass


@app.command()
def version() -> None:
    """Print the version."""
    print(f"opsloop {__version__}")


@config_app.command("show")
def config_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (unset is null).")] = False,
) -> None:
    """Print the effective settings: secrets as ******** when set, (not set) when not."""
    shown = settings().masked()
    if as_json:
        print(json.dumps(shown, indent=2))
        return
    for key, value in shown.items():
        print(f"{key} = {_shown_value(value)}")


def _shown_value(value: Any) -> str:
    if value is None or value == "":
        return "(not set)"
    return str(value).lower() if isinstance(value, bool) else str(value)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the schema or apply pending migrations (serve does this at start too)."""
    from opsloop.core import migrate

    db = unmigrated_database()
    migrate.upgrade(db.engine)
    console.print(f"database at {migrate.current_revision(db.engine)} (head)")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision of the database and whether it is up to date."""
    from opsloop.core import migrate

    head = migrate.head_revision()
    path = sqlite_file(settings().database_url)
    if path is not None and not path.is_file():
        print(f"empty (no database file at {path}; 'opsloop db upgrade' creates it at {head})")
        return
    db = unmigrated_database()
    current = migrate.current_revision(db.engine)
    state = "up to date" if current == head else f"behind; head is {head}"
    print(f"{current or 'empty'} ({state})")


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(metavar="HOST", help="Address to listen on [default: OPSLOOP_HOST]"),
    ] = None,
    port: Annotated[
        int | None, typer.Option(metavar="PORT", help="Port to listen on [default: OPSLOOP_PORT]")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Worker processes [default: OPSLOOP_WORKERS]"),
    ] = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="On a first start, also create demo users and SLOs [default: OPSLOOP_DEMO_DATA]",
        ),
    ] = False,
) -> None:
    """Migrate the database and serve the API and web UI."""
    import uvicorn

    from opsloop import db_setup, supervisor
    from opsloop.core import migrate
    from opsloop.core.http_timeouts import HeaderTimeoutProtocol

    cfg = settings()
    _require_free_port(host or cfg.host, port or cfg.port)
    configure_logging(cfg.log_level, cfg.log_format)
    db = unmigrated_database()
    usable = usable_connections(db)
    if usable is not None and (
        problem := connection_budget_problem(usable, workers or cfg.workers)
    ):
        fail(problem)
    count = workers or cfg.workers
    if count > 1:
        supervisor.prepare_multiprocess_metrics(cfg.data_dir / "metrics")
        supervisor.workers_skip_the_cli()
        # glibc gives each thread that allocates its own malloc arena (up to 8 per core);
        # a worker's 40 request threads then each keep freed memory of their own. Under the GIL
        # only one of them allocates at a time, so two arenas cost no throughput. An operator's
        # own setting wins.
        os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    # Whether this process imports the app before it serves: with several workers, to fork
    # them from it.
    preload = count > 1 and supervisor.can_fork_workers()

    def set_up() -> dict[str, str]:
        migrate.upgrade(db.engine)
        return first_start(db, cfg, DEMO_SEEDERS, demo=demo or cfg.demo_data)

    setup = db_setup.begin(db, set_up)
    # With the migrations in a child, the app is imported beside them with one worker too.
    if preload or setup.in_child:
        supervisor.preload_app()
    _show_created(setup.result(), cfg)
    db.dispose()
    background = None
    if count > 1 and cfg.scheduler_enabled:
        # Background jobs run in this supervising process, not in a worker: an evaluation of
        # every SLO holds its process's GIL for most of its run, and a worker's requests waited
        # behind it. The workers inherit the setting that tells them not to start their own.
        os.environ[f"{ENV_PREFIX}SCHEDULER_ENABLED"] = "false"
        background = supervisor.BackgroundJobs(cfg)
    bind_host, bind_port = host or cfg.host, port or cfg.port
    typer.echo(
        f"opsloop {__version__} on http://{bind_host}:{bind_port} "
        f"({mask_url_password(cfg.database_url)}, {count} worker(s))",
        err=True,
    )
    options = _uvicorn_options(HeaderTimeoutProtocol, bind_host, bind_port, count)
    if count > 1:
        supervisor.run_workers(uvicorn.Config(**options), background, fork=preload)
    else:
        uvicorn.run(**options)


def _show_created(created: dict[str, str], cfg: Settings) -> None:
    if ADMIN_USERNAME in created:
        typer.echo(
            f"Created user '{ADMIN_USERNAME}' with password '{created[ADMIN_USERNAME]}' "
            f"(also in {cfg.data_dir / 'admin-password'}); change it with "
            f"'opsloop user set-password {ADMIN_USERNAME}'.",
            err=True,
        )
    for username, password in created.items():
        if username != ADMIN_USERNAME:
            typer.echo(f"Created demo user '{username}' with password '{password}'.", err=True)


def _uvicorn_options(protocol: Any, host: str, port: int, workers: int) -> dict[str, Any]:
    return {
        "app": "opsloop.worker:create_app",
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "log_config": None,
        "access_log": False,
        "proxy_headers": True,
        "http": protocol,
        # A spawned worker imports the whole app before it answers the supervisor's health
        # check; on a busy machine that takes longer than uvicorn's 5 s default and workers
        # got killed.
        "timeout_worker_healthcheck": 60,
    }


def _require_free_port(host: str, port: int) -> None:
    # uvicorn would report a busy port only after the start-up banner, as a traceback-like log.
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        fail(f"cannot listen on {host!r}: {exc.strerror}; set --host or OPSLOOP_HOST")
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            fail(
                f"cannot listen on {host}:{port}: {exc.strerror}; "
                "choose another port with --port or OPSLOOP_PORT",
            )


def main() -> None:
    run_cli(app)
