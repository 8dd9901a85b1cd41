"""A review as Markdown, as a standalone HTML document, and as PDF (the HTML laid out by
WeasyPrint). Every rendering shows the sections of :data:`opsloop.pirs.content.SECTIONS` in
order, with a line saying when one is empty, so a reader never wonders whether it was left out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from opsloop.pirs.content import SECTIONS
from opsloop.pirs.views import PirDocument

FORMATS = ("md", "html", "pdf")
MEDIA_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}
_HEADING = dict(SECTIONS)
_ITEM_FIELDS = ("id", "description", "owner", "priority", "due_on", "status")

_env = Environment(
    loader=PackageLoader("opsloop.pirs", "templates"),
    autoescape=select_autoescape(["html"]),
)


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def duration_text(minutes: float | None) -> str:
    if minutes is None:
        return "ongoing (not resolved)"
    whole = round(minutes)
    hours, rest = divmod(whole, 60)
    return f"{hours} h {rest} min" if hours else f"{rest} min"


def item_row(item: Any) -> dict[str, str]:
    """An action item's fields as text; the items come from another domain, read by name."""
    return {
        name: "" if getattr(item, name, None) is None else str(getattr(item, name))
        for name in _ITEM_FIELDS
    }


def context(doc: PirDocument) -> dict[str, Any]:
    return {
        "doc": doc,
        "heading": _HEADING,
        "when": when,
        "duration": duration_text(doc.incident.duration_minutes),
        "items": [item_row(i) for i in doc.action_items],
    }


def title_of(doc: PirDocument) -> str:
    return f"Post-incident review: {doc.incident.key} {doc.incident.title}"


def _text(value: str) -> str:
    return value.strip() or "_Not written yet._"


def to_markdown(doc: PirDocument) -> str:
    c, i = doc.content, doc.incident
    users = c.impact.users_affected
    out = [
        f"# {title_of(doc)}",
        "",
        f"Severity {i.severity} · review {doc.state.label}, revision {doc.revision}"
        + (f" · published {when(doc.published_at)}" if doc.published_at else ""),
        "",
        f"## {_HEADING['summary']}", "", _text(c.summary), "",
        f"## {_HEADING['impact']}", "",
        f"- Started: {when(i.started_at)}",
        f"- Resolved: {when(i.resolved_at)}",
        f"- Duration: {duration_text(i.duration_minutes)}",
        f"- Users affected: {'-' if users is None else users}",
        f"- Revenue: {c.impact.revenue or '-'}",
    ]  # fmt: skip
    if c.impact.description.strip():
        out += ["", c.impact.description.strip()]
    out += ["", f"## {_HEADING['root_cause']}", "", _text(c.root_cause), ""]
    out += [f"## {_HEADING['whys']}", ""]
    out += [f"{w.position}. **{w.question}** {w.answer}" for w in c.whys] or ["_None yet._"]
    out += ["", f"## {_HEADING['contributing_factors']}", ""]
    out += [f"- {f}" for f in c.contributing_factors] or ["_None recorded._"]
    out += ["", f"## {_HEADING['timeline']}", ""]
    if c.timeline:
        out += ["| Time (UTC) | Kind | What happened |", "|---|---|---|"]
        out += [
            f"| {when(e.at)} | {e.kind} | {e.text.replace('|', '/').replace(chr(10), ' ')} |"
            for e in c.timeline
        ]
    else:
        out.append("_No entries._")
    for name in ("went_well", "went_poorly", "lessons_learned"):
        out += ["", f"## {_HEADING[name]}", "", _text(getattr(c, name))]
    out += ["", f"## {_HEADING['action_items']}", ""]
    items = [item_row(x) for x in doc.action_items]
    if items:
        out += [
            "| # | Description | Owner | Priority | Due | Status |",
            "|---|---|---|---|---|---|",
        ]
        out += [
            f"| {x['id']} | {x['description']} | {x['owner']} | {x['priority']} | "
            f"{x['due_on']} | {x['status']} |"
            for x in items
        ]
    else:
        out.append("_No action items._")
    out += ["", f"## {_HEADING['review_meeting']}", ""]
    meeting = doc.review_meeting
    if meeting is None:
        out.append("_Not scheduled._")
    else:
        out += [
            f"- When: {when(meeting.scheduled_at)}",
            f"- Attendees: {', '.join(meeting.attendees) or '-'}",
            "- Action items agreed: "
            + (", ".join(f"#{n}" for n in meeting.validated_action_items) or "-"),
        ]
        if meeting.notes.strip():
            out += ["", meeting.notes.strip()]
    return "\n".join(out) + "\n"


def to_html(doc: PirDocument) -> str:
    """A standalone page (styles inline, nothing fetched), also the input of the PDF."""
    return _env.get_template("pir_report.html").render(title=title_of(doc), **context(doc))


def to_pdf(doc: PirDocument) -> bytes:
    # Imported here: WeasyPrint loads Pango and fonts, which only a PDF request needs.
    from weasyprint import HTML

    pdf: bytes = HTML(string=to_html(doc)).write_pdf()
    return pdf


def render(doc: PirDocument, fmt: str) -> bytes:
    if fmt == "md":
        return to_markdown(doc).encode()
    if fmt == "html":
        return to_html(doc).encode()
    return to_pdf(doc)
