"""How the SLO commands render numbers and the status table.

The table must keep every column in 80 columns and when piped (rich then assumes 80), so the
columns are short and only the SLO name may fold.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

HEALTH_STYLES = {"ok": "green", "alerting": "bold red", "exhausted": "red", "no data": "yellow"}


def percent(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def times(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}x" if abs(value) >= 100 else f"{value:.2f}x"


def health(result: dict[str, Any]) -> str:
    """One word for how an SLO is doing, worst first: a ✓ next to a firing alert misleads."""
    budget = result["budget"]
    if budget and budget["exhausted"]:
        return "exhausted"
    if any(alert["firing"] for alert in result["alerts"]):
        return "alerting"
    if budget is None or result["status"] == "no_data":
        return "no data"
    return "ok"


def status_table(rows: list[tuple[Any, dict[str, Any]]]) -> Table:
    table = Table(box=None, padding=(0, 1, 0, 0), pad_edge=False, header_style="bold")
    table.add_column("health", no_wrap=True)
    table.add_column("SLO", overflow="fold", min_width=12)
    for header in ("target", "SLI", "budget", "burn1h", "burn6h"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("policy", no_wrap=True)
    for slo, result in rows:
        word = health(result)
        budget = result["budget"]
        table.add_row(
            Text(word, style=HEALTH_STYLES[word]),
            Text(f"{slo.service}/{slo.name}"),
            f"{result['objective']}%",
            percent(result["sli"]),
            percent(budget["remaining"], 1) if budget else "—",
            times(result["burn_rates"]["1h"]),
            times(result["burn_rates"]["6h"]),
            Text(result["policy"]["state"].replace("_", " ")),
        )
    return table


def exhaustion_text(result: dict[str, Any]) -> str:
    seconds = result["time_to_exhaustion_seconds"]
    if result["exhaustion"] == "exhausted":
        return "exhausted"
    if seconds is None:
        return "never at the current burn" if result["exhaustion"] == "never" else "no data"
    hours = seconds / 3600
    return f"in {hours / 24:.1f} days" if hours >= 48 else f"in {hours:.1f} hours"
