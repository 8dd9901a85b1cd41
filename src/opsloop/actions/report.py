"""The action item report: how many items are open, overdue and closed per owner and per
priority, with the overdue ones listed. Pure: it counts views it is given."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opsloop.actions.rules import ItemStatus, Priority
from opsloop.actions.views import ActionItemView

COLUMNS = ("open", "in_progress", "overdue", "done", "wont_do", "total")


@dataclass
class Tally:
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, item: ActionItemView) -> None:
        self.counts[item.status.value] += 1
        self.counts["total"] += 1
        if item.overdue:
            self.counts["overdue"] += 1

    def row(self) -> dict[str, int]:
        return {name: self.counts[name] for name in COLUMNS}


def summarise(items: Iterable[ActionItemView], *, now: datetime) -> dict[str, Any]:
    """Counts per owner (by name) and per priority (P1 to P3), and the overdue items, most
    overdue first. ``overdue`` counts open items past their due date (also counted as open
    or in_progress)."""
    owners: dict[str, Tally] = {}
    priorities = {p.value: Tally() for p in Priority}
    overall = Tally()
    overdue = []
    for item in items:
        owners.setdefault(item.owner, Tally()).add(item)
        priorities[item.priority.value].add(item)
        overall.add(item)
        if item.overdue:
            overdue.append(item)
    overdue.sort(key=lambda i: (-i.days_overdue, i.priority.value, i.id))
    return {
        "generated_at": now.isoformat(),
        "total": overall.row(),
        "by_owner": {name: owners[name].row() for name in sorted(owners)},
        "by_priority": {name: tally.row() for name, tally in priorities.items()},
        "overdue": [
            {
                "id": i.id,
                "incident": i.incident_key,
                "owner": i.owner,
                "priority": i.priority.value,
                "due_on": i.due_on.isoformat(),
                "days_overdue": i.days_overdue,
                "escalation_level": i.escalation_level,
                "description": i.description,
            }
            for i in overdue
        ],
    }


def _table(title: str, rows: dict[str, dict[str, int]]) -> list[str]:
    head = ["open", "in progress", "overdue", "done", ItemStatus.wont_do.label, "total"]
    lines = [f"## {title}", "", f"| {title.split()[-1]} | " + " | ".join(head) + " |"]
    lines.append("|" + "---|" * (len(head) + 1))
    for name, row in rows.items():
        lines.append(f"| {name} | " + " | ".join(str(row[c]) for c in COLUMNS) + " |")
    return [*lines, ""]


def markdown(summary: dict[str, Any]) -> str:
    total = summary["total"]
    lines = [
        "# Action items",
        "",
        f"Generated {summary['generated_at']}: {total['total']} items, "
        f"{total['open'] + total['in_progress']} open ({total['overdue']} overdue), "
        f"{total['done']} done, {total['wont_do']} won't do.",
        "",
        *_table("By owner", summary["by_owner"]),
        *_table("By priority", summary["by_priority"]),
        "## Overdue",
        "",
    ]
    if not summary["overdue"]:
        lines.append("Nothing is overdue.")
    for i in summary["overdue"]:
        escalated = f", escalated to level {i['escalation_level']}" if i["escalation_level"] else ""
        lines.append(
            f"- #{i['id']} {i['incident']} {i['priority']} {i['owner']}: due {i['due_on']}, "
            f"{i['days_overdue']} days overdue{escalated}: {i['description']}"
        )
    return "\n".join(lines) + "\n"
