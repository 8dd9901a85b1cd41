"""How the incident commands print: times, the response and update badges, one incident."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rich.console import Console

from opsloop.core.cliutil import fail
from opsloop.incidents.timeline import EventView
from opsloop.incidents.views import RESPONSE_TEXT, IncidentView


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def parse_time(text: str, option: str) -> datetime:
    """ISO 8601; without a time zone, UTC."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"{option}: not a date-time {text!r} (like 2026-11-02T08:50Z)")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def badges(found: IncidentView) -> str:
    shown = []
    if found.response_state in ("late", "overdue"):
        shown.append(RESPONSE_TEXT[found.response_state])
    if found.update_overdue:
        shown.append("update overdue")
    return ", ".join(shown)


def print_json(console: Console, value: Any) -> None:
    console.print_json(json.dumps(value, default=str))


def print_incident(console: Console, found: IncidentView) -> None:
    out = console.print
    out(f"{found.key} {found.severity.value} {found.status.value}: {found.title}", markup=False)
    out(f"severity: {found.severity.definition}")
    if found.summary:
        out(found.summary, markup=False)
    out(f"services: {', '.join(found.services) or '-'}; SLOs: {', '.join(found.slos) or '-'}")
    for role in ("commander", "communications_lead", "scribe"):
        out(f"{role.replace('_', ' ')}: {getattr(found, role) or '-'}")
    impact = found.users_affected if found.users_affected is not None else "-"
    out(f"users affected: {impact}; features: {', '.join(found.features_impacted) or '-'}")
    if found.revenue_impact:
        out(f"revenue impact: {found.revenue_impact}", markup=False)
    if found.caused_by_change:
        out(f"caused by change: {found.caused_by_change}", markup=False)
    out(f"detected by: {found.detection_method.value}")
    for name in (
        "started_at",
        "detected_at",
        "declared_at",
        "acknowledged_at",
        "mitigated_at",
        "resolved_at",
        "closed_at",
    ):
        out(f"{name.removesuffix('_at')}: {when(getattr(found, name))}")
    out(f"response: {RESPONSE_TEXT[found.response_state]} (due {when(found.response_due_at)})")
    if found.next_update_at:
        late = " (overdue)" if found.update_overdue else ""
        out(f"next update: {when(found.next_update_at)}{late}")
    minutes = found.durations()
    out(
        f"time to detect: {minutes['time_to_detect_minutes']:.0f} min; time to resolve: "
        + (
            "-"
            if minutes["time_to_resolve_minutes"] is None
            else f"{minutes['time_to_resolve_minutes']:.0f} min"
        )
    )
    record = found.resolution
    if record.diagnosis.root_cause:
        out(f"root cause: {record.diagnosis.root_cause}", markup=False)
    if record.resolution.fix_applied:
        out(f"fix applied: {record.resolution.fix_applied}", markup=False)


def print_event(console: Console, event: EventView) -> None:
    tag = f"{event.kind.value}" + (f"/{event.audience.value}" if event.audience else "")
    auto = " (auto)" if event.automatic else ""
    console.print(
        f"{when(event.at)}  {tag:<22} {event.author}{auto}: {event.text}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
