"""The catalog API: services under /api/v1/services (teams are in :mod:`.api_teams`)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Connection
from starlette.convertors import StringConvertor, register_url_convertor

from opsloop.core.counters import serve_kept
from opsloop.core.db import Database
from opsloop.core.deps import ReadSession, Responder, Viewer, WriteSession
from opsloop.core.schemas import (
    AUTHENTICATED,
    PLAIN_PATTERN,
    WITH_BODY,
    Page,
    PageQuery,
    errors,
    plain_params,
)
from opsloop.core.yaml_body import read_yaml_body
from opsloop.services import api_json, catalog_files, usage
from opsloop.services import service as catalog
from opsloop.services.entries import Link, ServiceEntry
from opsloop.services.schemas import (
    ApplyOut,
    BudgetStateOut,
    ServiceCreate,
    ServiceOut,
    ServicePatch,
)
from opsloop.services.vocabulary import RESERVED_NAMES, Lifecycle
from opsloop.slo.schemas import DNS_LABEL

router = APIRouter(
    prefix="/api/v1",
    tags=["Services"],
    responses=AUTHENTICATED,
    dependencies=[Depends(plain_params)],
)
YAML_BODY = {"type": "string", "description": "opsloop, OpenSLO Service or Backstage YAML"}
YAML_OUT = {"application/yaml": {"schema": {"description": "YAML text"}}}
ServicePath = Annotated[str, Path(max_length=63, pattern=DNS_LABEL)]


class CatalogNameConvertor(StringConvertor):
    """A service name in a path, never one of the catalog's own paths beside it: without
    this, /services/apply would also match /services/{service} and OPTIONS would list
    GET, PATCH and DELETE for it."""

    regex = "(?!(?:" + "|".join(sorted(RESERVED_NAMES)) + ")$)[^/]+"


register_url_convertor("catalog_name", CatalogNameConvertor())
NOT_FOUND = errors(404)


def entry_of(body: ServiceCreate) -> ServiceEntry:
    return ServiceEntry(
        name=body.name,
        display_name=body.display_name,
        description=body.description,
        owner_team=body.owner_team,
        tier=body.tier,
        lifecycle=body.lifecycle.value,
        links=tuple(Link(link.name, link.url) for link in body.links),
        labels=body.labels,
    )


@router.get(
    "/services",
    response_class=JSONResponse,
    responses={200: {"model": Page[ServiceOut], "description": "a page of services, in id order"}},
)
async def list_services(
    request: Request,
    _: Viewer,
    paging: PageQuery,
    team: Annotated[str | None, Query(max_length=63, pattern=PLAIN_PATTERN)] = None,
    tier: Annotated[int | None, Query(ge=1, le=4)] = None,
    lifecycle: Lifecycle | None = None,
    q: Annotated[
        str | None,
        Query(max_length=127, pattern=PLAIN_PATTERN, description="part of name or description"),
    ] = None,
    unowned: Annotated[bool, Query(description="only services without an owner team")] = False,
) -> Response:
    """A page of services in id order."""
    flt = catalog.ServiceFilter(
        team=team,
        tier=tier,
        lifecycle=lifecycle.value if lifecycle else None,
        q=q,
        unowned=unowned,
    )

    def page(conn: Connection) -> bytes:
        rows = api_json.page_rows(
            conn, catalog.conditions(flt), after_id=paging.after, limit=paging.limit + 1
        )
        return api_json.page_json(rows, paging.limit)

    # Kept per filter and page until a service or team changes: nothing in it shows the time.
    key = ("api/services", flt, paging.after, paging.limit)
    body = await serve_kept(request, api_json.GENERATION, key, page)
    return Response(body, media_type="application/json")


@router.post(
    "/services",
    response_model=ServiceOut,
    status_code=status.HTTP_201_CREATED,
    responses={**WITH_BODY, **errors(409)},
)
def create_service(body: ServiceCreate, principal: Responder, session: WriteSession) -> ServiceOut:
    """A new explicit service; ``owner_team`` must be an existing team."""
    return ServiceOut.of(catalog.create_service(session, principal=principal, entry=entry_of(body)))


@router.post(
    "/services/apply",
    response_model=ApplyOut,
    responses={
        200: {"model": ApplyOut, "description": "updated or unchanged"},
        201: {"model": ApplyOut, "description": "something was created"},
        **WITH_BODY,
        **errors(415),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {"schema": YAML_BODY},
                "text/plain": {"schema": YAML_BODY},
            },
        }
    },
)
async def apply_catalog(request: Request, response: Response, principal: Responder) -> ApplyOut:
    """Apply a catalog file (multi-document YAML): all or nothing; teams need an approver."""
    text = await read_yaml_body(request, "catalog")
    db: Database = request.app.state.db
    with db.write() as session:
        summary = catalog_files.apply_catalog(
            session, principal=principal, text=text, source="request body"
        )
    created = summary.count("created") > 0
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return ApplyOut.of(summary)


@router.get(
    "/services/export",
    response_class=Response,
    responses={200: {"content": YAML_OUT, "description": "one YAML document per team, service"}},
)
def export_catalog(
    _: Viewer, session: ReadSession, format: Literal["opsloop", "backstage"] = "opsloop"
) -> Response:
    return Response(
        catalog_files.export_catalog(session, fmt=format), media_type="application/yaml"
    )


@router.get("/services/{service:catalog_name}", response_model=ServiceOut, responses=NOT_FOUND)
def get_service(service: ServicePath, _: Viewer, session: ReadSession) -> ServiceOut:
    return ServiceOut.of(catalog.get_service(session, name=service))


@router.patch(
    "/services/{service:catalog_name}",
    response_model=ServiceOut,
    responses={**WITH_BODY, **NOT_FOUND},
)
def update_service(
    service: ServicePath, body: ServicePatch, principal: Responder, session: WriteSession
) -> ServiceOut:
    view = catalog.update_service(
        session, principal=principal, name=service, changes=body.changes()
    )
    return ServiceOut.of(view)


@router.delete(
    "/services/{service:catalog_name}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, **errors(409)},
)
def delete_service(service: ServicePath, principal: Responder, session: WriteSession) -> Response:
    """Refused (409) while SLOs use the service."""
    usage.delete_service(session, principal=principal, name=service)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/services/{service:catalog_name}/budget-state",
    response_model=BudgetStateOut,
    responses=NOT_FOUND,
)
async def budget_state(service: ServicePath, request: Request, _: Viewer) -> Response:
    """The service's SLOs with budget left, burn rates and policy state; ``blocks_changes``
    says whether its error-budget policy freezes changes now."""
    # Asked before every deploy that the error-budget gate checks; kept until the service, its
    # SLOs, their evaluations or its policy change (nothing in it shows the time).
    key = ("api/budget-state", service)
    body = await serve_kept(
        request,
        api_json.BUDGET_STATE_GENERATIONS,
        key,
        lambda conn: api_json.budget_state_json(conn, service),
    )
    return Response(body, media_type="application/json")
