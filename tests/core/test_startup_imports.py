"""What starting opsloop imports, and how ``serve`` starts its workers.

Imports are checked in a fresh interpreter: this one has imported everything already.
"""

from __future__ import annotations

import multiprocessing.connection
import multiprocessing.context
import signal
import subprocess
import sys

import uvicorn
from uvicorn import _subprocess

from opsloop.supervisor import forking_workers


def _printed_by(code: str) -> str:
    """What ``code`` prints in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout


def _loaded_after(statement: str, *prefixes: str) -> list[str]:
    code = (
        "import sys\n"
        f"{statement}\n"
        f"print(','.join(sorted(m for m in sys.modules if m.startswith({prefixes!r}))))\n"
    )
    return [name for name in _printed_by(code).strip().split(",") if name]


def test_the_app_imports_no_http_client_and_no_migrations() -> None:
    # httpx (with click, rich and pygments) is for the few requests that call Alertmanager
    # or Prometheus, not for every worker's start; alembic only for a schema that is behind.
    loaded = _loaded_after("import opsloop.app", "httpx", "rich", "pygments", "alembic")
    assert loaded == []


def test_serve_imports_no_prometheus_client_before_its_workers() -> None:
    # serve decides after its start whether workers share metric files, and prometheus_client
    # fixes the kind of its values when first imported; forked workers inherit that. Before
    # them serve migrates (the migrations import every model) and may seed demo data.
    statement = "import opsloop.cli, opsloop.models, opsloop.slo.demo, opsloop.services.demo"
    assert _loaded_after(statement, "prometheus_client") == []


def test_workers_are_forked_only_inside_the_block() -> None:
    config = uvicorn.Config("opsloop.worker:create_app", factory=True, workers=2)
    with forking_workers() as forking:
        forked = _subprocess.get_subprocess(config, target=print, sockets=[])
    spawned = _subprocess.get_subprocess(config, target=print, sockets=[])
    assert forking
    assert isinstance(forked, multiprocessing.context.ForkProcess)
    assert isinstance(spawned, multiprocessing.context.SpawnProcess)


def _report_handlers(out: multiprocessing.connection.Connection) -> None:
    term, interrupt = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    out.send((term == signal.SIG_DFL, interrupt is signal.default_int_handler))


def test_a_forked_worker_starts_with_the_default_signal_handlers() -> None:
    # As uvicorn's supervisor does before it starts workers: its handlers queue signals.
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        reader, writer = multiprocessing.Pipe(duplex=False)
        with forking_workers():
            worker = _subprocess.spawn.Process(target=_report_handlers, args=(writer,))
        worker.start()
        assert reader.poll(30)
        assert reader.recv() == (True, True)
        worker.join(30)
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_the_error_shape_of_each_route_is_built_only_for_the_openapi_document() -> None:
    # FastAPI makes a validator and serializer for every `responses=` entry of every route as
    # it is declared (some 630 for the error shape alone); only /api/openapi.json reads them.
    code = (
        "import opsloop.app\n"
        "from fastapi.routing import APIRoute\n"
        "from opsloop.core.schemas import ErrorOut\n"
        "fields = [f for r in opsloop.app.auth_router.routes if isinstance(r, APIRoute)\n"
        "          for f in r.response_fields.values() if f.field_info.annotation is ErrorOut]\n"
        "print(len(fields), sum(f._type_adapter.pydantic_complete for f in fields))\n"
    )
    declared, built = map(int, _printed_by(code).split())
    assert declared > 10 and built == 0


def test_request_and_response_models_are_built_on_first_use_not_at_import() -> None:
    # Building every model's validator and serializer, and FastAPI's adapter for every route's
    # body and response model, was most of the pydantic share of importing the app. (Adapters
    # of a list or a union of models are still built: they carry no model's configuration.)
    code = (
        "import opsloop.app\n"
        "from fastapi.routing import APIRoute\n"
        "from opsloop.core.schemas import Schema\n"
        "def every(cls):\n"
        "    for sub in cls.__subclasses__():\n"
        "        yield sub\n"
        "        yield from every(sub)\n"
        "models = {m for m in every(Schema) if not m.__pydantic_generic_metadata__['parameters']}\n"
        "routes = [r for router in opsloop.app.API_ROUTERS for r in router.routes\n"
        "          if isinstance(r, APIRoute)]\n"
        "adapters = [f._type_adapter for r in routes for f in (r.response_field, r.body_field)\n"
        "            if f is not None and f.field_info.annotation in models]\n"
        "print(len(models), sum(m.__pydantic_complete__ for m in models),\n"
        "      len(adapters), sum(a.pydantic_complete for a in adapters))\n"
    )
    models, built_models, adapters, built_adapters = map(int, _printed_by(code).split())
    assert models > 100 and built_models == 0
    assert adapters > 100 and built_adapters == 0
