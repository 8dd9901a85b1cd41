"""The alert review as JSON (one schema for the API and ``--format json``) and as Markdown in
the weekly review's form (totals first: total, actionable, false positives)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from opsloop.alerts.review import Review
from opsloop.alerts.review_math import Summary
from opsloop.core.schemas import Schema


class SummaryOut(Schema):
    key: str = Field(description="Alert name, or service in by_service.")
    fired: int = Field(description="Instances that started in the period.")
    distinct: int = Field(description="Distinct fingerprints (label sets) among them.")
    actionable: int
    false_positives: int
    unreviewed: int
    still_firing: int
    actionable_share: float
    signal_to_noise: float | None = Field(
        description="Actionable per non-actionable instance; null when none was noise."
    )
    acked_in_time: int
    acked_in_time_share: float
    mean_duration_seconds: float | None
    p95_duration_seconds: float | None
    flapping: int = Field(description="Label sets that flapped.")
    severities: list[str]
    advice: str = Field(
        description="investigate-flapping, tune-or-remove, automate, needs-feedback or keep."
    )
    reason: str

    @classmethod
    def of(cls, s: Summary) -> SummaryOut:
        return cls(
            key=s.key,
            fired=s.fired,
            distinct=s.distinct,
            actionable=s.actionable,
            false_positives=s.false_positives,
            unreviewed=s.unreviewed,
            still_firing=s.still_firing,
            actionable_share=round(s.actionable_share, 4),
            signal_to_noise=None if s.signal_to_noise is None else round(s.signal_to_noise, 4),
            acked_in_time=s.acked_in_time,
            acked_in_time_share=round(s.acked_in_time_share, 4),
            mean_duration_seconds=s.mean_seconds,
            p95_duration_seconds=s.p95_seconds,
            flapping=s.flapping,
            severities=list(s.severities),
            advice=s.advice.value,
            reason=s.reason,
        )


class TotalsOut(Schema):
    total: int
    actionable: int
    false_positives: int
    unreviewed: int
    signal_to_noise: float | None


class DayOut(Schema):
    day: date
    fired: int
    actionable: int


class ReviewOut(Schema):
    since: datetime
    until: datetime
    service: str | None
    totals: TotalsOut
    by_name: list[SummaryOut]
    by_service: list[SummaryOut]
    days: list[DayOut]

    @classmethod
    def of(cls, r: Review) -> ReviewOut:
        t = r.totals
        snr = None if t.signal_to_noise is None else round(t.signal_to_noise, 4)
        return cls(
            since=r.since,
            until=r.until,
            service=r.service,
            totals=TotalsOut(
                total=t.total,
                actionable=t.actionable,
                false_positives=t.false_positives,
                unreviewed=t.unreviewed,
                signal_to_noise=snr,
            ),
            by_name=[SummaryOut.of(s) for s in r.by_name],
            by_service=[SummaryOut.of(s) for s in r.by_service],
            days=[DayOut(day=d.day, fired=d.fired, actionable=d.actionable) for d in r.days],
        )


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _table(heading: str, rows: list[Summary]) -> list[str]:
    lines = [
        f"### {heading}",
        "",
        "| | fired | distinct | actionable | false pos. | S/N | acked in time | mean | p95 "
        "| flapping | recommendation |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in rows:
        lines.append(
            f"| {_cell(s.key)} | {s.fired} | {s.distinct} | {s.actionable} "
            f"({s.actionable_share:.0%}) | {s.false_positives} | {ratio(s.signal_to_noise)} "
            f"| {s.acked_in_time_share:.0%} | {duration(s.mean_seconds)} "
            f"| {duration(s.p95_seconds)} | {s.flapping} | **{s.advice.value}**: "
            f"{_cell(s.reason)} |"
        )
    if not rows:
        lines.append("| no alerts fired | | | | | | | | | | |")
    return [*lines, ""]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(r: Review) -> str:
    t = r.totals
    scope = f" for {r.service}" if r.service else ""
    lines = [
        f"## Alert review{scope}",
        "",
        f"**Period:** {r.since:%Y-%m-%d %H:%M} to {r.until:%Y-%m-%d %H:%M} UTC",
        "",
        "### Alerts",
        f"- Total: {t.total}",
        f"- Actionable: {t.actionable}",
        f"- False positives: {t.false_positives}",
        f"- Unreviewed: {t.unreviewed}",
        f"- Signal-to-noise: {ratio(t.signal_to_noise)}",
        "",
        *_table("By alert", r.by_name),
        *_table("By service", r.by_service),
        "### Fired per day",
        "",
        "| day | fired | actionable |",
        "|---|---:|---:|",
        *[f"| {d.day.isoformat()} | {d.fired} | {d.actionable} |" for d in r.days],
        "",
    ]
    return "\n".join(lines)
