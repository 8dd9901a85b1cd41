"""What the incident list page shows: one page of incidents, filtered, with the filter form.

The content (everything but the page around it) is rendered apart and kept per filter, page,
whether the reader may declare and the response targets, until anything it shows or its filter
reads changes (the "incidents" generation: incidents, their services, the catalog's services
and teams), or until a response state or an overdue update on it would turn: the counts and the
page then cost one primary-key read instead of a count over every matching incident.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.incidents import listing
from opsloop.incidents import service as incidents
from opsloop.incidents.rules import Severity, Status
from opsloop.incidents.web_context import RESPONSE_TEXT
from opsloop.services import service as catalog
from opsloop.services import teams
from opsloop.web.routes import templates

PAGE_SIZE = 50
Targets = Mapping[Severity, timedelta]


def list_key(params: dict[str, str], page: int, *, may_declare: bool, targets: Targets) -> Hashable:
    """What a kept list is found by: the same parameters give the same content."""
    return (
        "web/incidents",
        tuple(sorted(params.items())),
        page,
        may_declare,
        tuple(targets.items()),
    )


def _link(params: dict[str, str], page: int) -> str:
    shown = {k: v for k, v in params.items() if v}
    return "/incidents?" + urlencode({**shown, "page": page})


def _form(session: Session, params: dict[str, str], *, may_declare: bool) -> dict[str, Any]:
    return {
        "params": params,
        "statuses": list(Status),
        "severities": list(Severity),
        "may_declare": may_declare,
        "response_text": RESPONSE_TEXT,
        "service_names": catalog.service_names(session),
        "team_names": [t.name for t in teams.list_teams(session)],
    }


def list_body(
    conn: Connection,
    flt: incidents.IncidentFilter,
    params: dict[str, str],
    page: int,
    *,
    may_declare: bool,
    targets: Targets,
) -> tuple[bytes, datetime | None]:
    """The content of list page ``page`` (from 1), and the first instant at which a state it
    shows would turn (None: never)."""
    now = clock.now()
    first = (page - 1) * PAGE_SIZE
    with Session(bind=conn) as session:
        context = _form(session, params, may_declare=may_declare)
        total = incidents.count_incidents(session, flt=flt)
    rows = listing.page_rows(conn, flt, offset=first, limit=PAGE_SIZE)
    items = listing.listed_rows(rows, now, targets)
    context.update(
        items=items,
        total=total,
        filtered=flt != incidents.IncidentFilter(),
        first_shown=first + 1,
        last_shown=first + len(items),
        previous_link=_link(params, page - 1) if page > 1 else None,
        next_link=_link(params, page + 1) if first + len(items) < total else None,
    )
    return _render(context).encode(), listing.changes_at(rows, now, targets)


def refused_body(
    conn: Connection, params: dict[str, str], error: dict[str, Any], *, may_declare: bool
) -> str:
    """The form with the filter's error beside it and no list (not kept)."""
    with Session(bind=conn) as session:
        context = _form(session, params, may_declare=may_declare)
    return _render({**context, "items": [], **error})


def _render(context: dict[str, Any]) -> str:
    """Escaped as every page is (the environment autoescapes .html templates)."""
    return templates.get_template("incident_list_body.html").render(context)
