"""Builds the opsloop ASGI application."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry
from prometheus_client.registry import Collector

from opsloop import __version__
from opsloop.actions import web as actions_web
from opsloop.actions.api import router as actions_router
from opsloop.actions.escalation import jobs as action_jobs
from opsloop.alerts import routing_web as alert_routing_web
from opsloop.alerts import web as alerts_web
from opsloop.alerts import web_review as alert_review_web
from opsloop.alerts.api import router as alerts_router
from opsloop.alerts.api_review import router as alert_review_router
from opsloop.alerts.escalation import jobs as alert_jobs
from opsloop.alerts.metrics import AlertCollector
from opsloop.alerts.router import jobs as alert_routing_jobs
from opsloop.alerts.routing_api import router as alert_routing_router
from opsloop.changes import web as changes_web
from opsloop.changes.api import router as changes_router
from opsloop.changes.api_impact import router as change_impact_router
from opsloop.changes.delivery_api import router as delivery_router
from opsloop.changes.jobs import jobs as change_jobs
from opsloop.core import api_errors, group_commit, health, memory
from opsloop.core.audit.api import router as audit_router
from opsloop.core.auth.api import router as auth_router
from opsloop.core.auth.cache import TokenCache
from opsloop.core.auth.roles import Principal
from opsloop.core.config import Settings, load_settings
from opsloop.core.counters import LoopCounters
from opsloop.core.db import Database
from opsloop.core.deps import authenticate_bearer
from opsloop.core.generations import RenderedCache
from opsloop.core.http_security import ApiAuthGate, BodyGuard, SecurityHeaders
from opsloop.core.logsetup import configure_logging
from opsloop.core.observability import ObservabilityMiddleware, fastapi_telemetry
from opsloop.core.route_index import index_routes
from opsloop.core.scheduler import Job, Scheduler
from opsloop.incidents import web as incidents_web
from opsloop.incidents import web_reliability
from opsloop.incidents.api import router as incidents_router
from opsloop.incidents.api_settings import router as incident_settings_router
from opsloop.incidents.csv_import_api import router as incident_import_router
from opsloop.incidents.jobs import jobs as incident_jobs
from opsloop.incidents.reliability_api import router as reliability_router
from opsloop.notifications import web as notifications_web
from opsloop.notifications.api import router as notifications_router
from opsloop.notifications.metrics import NotificationCollector
from opsloop.pirs import web as pirs_web
from opsloop.pirs.api import router as pirs_router
from opsloop.pirs.jobs import jobs as pir_jobs
from opsloop.services import web as services_web
from opsloop.services.api import router as services_router
from opsloop.services.api_teams import router as teams_router
from opsloop.slo import web as slo_web
from opsloop.slo.api import router as slo_router
from opsloop.slo.jobs import jobs as slo_jobs
from opsloop.slo.metrics import SLOCollector
from opsloop.web import shell as web_shell

# A new domain adds its router here, and its background jobs to JOB_FACTORIES.
API_ROUTERS = [
    auth_router,
    audit_router,
    slo_router,
    services_router,
    teams_router,
    notifications_router,
    incident_import_router,
    incidents_router,
    incident_settings_router,
    alert_review_router,
    alert_routing_router,
    reliability_router,
    alerts_router,
    pirs_router,
    actions_router,
    change_impact_router,
    # Before the change router: /changes/dora and the like are not change keys.
    delivery_router,
    changes_router,
]
JOB_FACTORIES: list[Callable[[Settings], list[Job]]] = [
    slo_jobs,
    incident_jobs,
    alert_jobs,
    alert_routing_jobs,
    pir_jobs,
    action_jobs,
    change_jobs,
]
METRIC_COLLECTORS: list[Callable[[Database], Collector]] = [
    SLOCollector,
    NotificationCollector,
    AlertCollector,
]


class Stoppable(Protocol):
    def stop(self) -> None: ...


#: Background threads that are not periodic jobs (notification delivery), started beside the
#: scheduler and stopped after it, in the same process.
def _start_delivery(db: Database, settings: Settings) -> Stoppable:
    # Imported here: delivery brings httpx and Apprise, which only the process that runs the
    # background work needs (with several workers, not the workers).
    from opsloop.notifications.delivery import start_delivery

    return start_delivery(db, settings)


BACKGROUND_SERVICES: list[Callable[[Database, Settings], Stoppable]] = [_start_delivery]


def _lifespan(
    settings: Settings, db: Database
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        background = start_background(settings, db) if settings.scheduler_enabled else None
        trimming = None
        if settings.memory_trim_seconds and memory.can_trim():
            trimming = asyncio.create_task(memory.trim_every(settings.memory_trim_seconds))
        try:
            yield
        finally:
            if trimming is not None:
                trimming.cancel()
            if background is not None:
                background.stop()
            # Pushes already queued are committed and answered before the process ends.
            group_commit.stop_all(db)
            await app.state.counters.close()

    return lifespan


def start_scheduler(settings: Settings, db: Database) -> Scheduler:
    """The background jobs of every domain, run in this process from now on."""
    jobs = [job for factory in JOB_FACTORIES for job in factory(settings)]
    scheduler = Scheduler(db, jobs, settings.data_dir / "locks")
    scheduler.start()
    return scheduler


class Background:
    """The scheduler and the other background services of this process."""

    def __init__(self, parts: list[Stoppable]) -> None:
        self.parts = parts

    def stop(self) -> None:
        for part in reversed(self.parts):
            part.stop()


def start_background(settings: Settings, db: Database) -> Background:
    """Everything that runs in the background, in this process from now on: the scheduler's
    jobs, and beside them (never in its job loop) each of BACKGROUND_SERVICES."""
    parts: list[Stoppable] = [start_scheduler(settings, db)]
    parts += [start(db, settings) for start in BACKGROUND_SERVICES]
    return Background(parts)


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    settings = settings or load_settings()
    # Here, not only in `serve`: with several workers each one builds its own app.
    configure_logging(settings.log_level, settings.log_format)
    db = db or Database(settings.database_url)
    app = FastAPI(
        lifespan=_lifespan(settings, db),
        title="opsloop",
        version=__version__,
        description="Monitor, respond, review, improve: SLOs, incidents, reviews and changes.",
        docs_url=None,  # the stock docs page loads its assets from a CDN
        redoc_url=None,
        openapi_url="/api/openapi.json",
        telemetry=fastapi_telemetry(),
    )
    app.state.settings = settings
    app.state.db = db
    app.state.token_cache = TokenCache()
    app.state.rendered = RenderedCache()
    app.state.counters = LoopCounters(db.url)
    app.state.audit_pages = RenderedCache()
    app.state.metrics = CollectorRegistry(auto_describe=False)
    for collector in METRIC_COLLECTORS:
        app.state.metrics.register(collector(db))
    api_errors.install(app)
    app.include_router(health.router)
    for router in API_ROUTERS:
        app.include_router(router)
    web_shell.install(
        app,
        domain_routers=[
            slo_web.router,
            services_web.router,
            notifications_web.router,
            incidents_web.router,
            alert_review_web.router,
            alert_routing_web.router,
            web_reliability.router,
            alerts_web.router,
            pirs_web.router,
            actions_web.router,
            changes_web.router,
        ],
    )
    app.mount("/static", StaticFiles(packages=[("opsloop.web", "static")]), name="static")
    index_routes(app)
    _add_http_security(app, settings)
    app.add_middleware(ObservabilityMiddleware)
    return app


def _add_http_security(app: FastAPI, settings: Settings) -> None:
    # Added innermost first: headers wrap the body guard, which wraps the API's auth gate, so
    # even a 401 or 413 carries the security headers.
    async def authenticate(_: object, header: str) -> Principal:
        return await authenticate_bearer(app.state, header)

    app.add_middleware(ApiAuthGate, authenticate=authenticate)
    app.add_middleware(
        BodyGuard,
        max_bytes=settings.max_body_bytes,
        max_push_bytes=settings.max_push_body_bytes,
        read_timeout=settings.request_read_timeout_seconds,
    )
    app.add_middleware(SecurityHeaders, hsts=settings.cookie_secure)
