"""The rules of a post-incident review: its states and the moves between them, when it is
required and due, the five-whys chain, and the look-back windows of the compliance views.
Pure: no clock, database or network.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from opsloop.core import periods
from opsloop.core.errors import Conflict, ValidationFailed

#: Severities that need a review unless the deployment says otherwise.
DEFAULT_REQUIRED = ("SEV1", "SEV2")
DEFAULT_DUE_HOURS = 48
MAX_WHYS = 10


class PirState(StrEnum):
    draft = "draft"
    in_review = "in_review"
    published = "published"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


#: The only moves a request may ask for. A published review goes back to draft only by being
#: edited (:func:`edit_state`), which opens a new revision.
_MOVES = {(PirState.draft, PirState.in_review), (PirState.in_review, PirState.published)}


def parse_state(value: str, *, field: str = "state") -> PirState:
    text = value.strip().lower().replace(" ", "_").replace("-", "_")
    try:
        return PirState(text)
    except ValueError:
        allowed = ", ".join(s.value for s in PirState)
        raise ValidationFailed(
            f"{field}: unknown state {value!r}; use one of {allowed}", field=field
        ) from None


def next_states(state: PirState) -> list[PirState]:
    return [after for before, after in sorted(_MOVES) if before == state]


def check_move(before: PirState, after: PirState) -> None:
    """draft -> in_review -> published; anything else is refused (409)."""
    if (before, after) in _MOVES:
        return
    if before == after:
        raise Conflict(f"the review is already {before.label}", field="state")
    raise Conflict(
        f"cannot move a review from {before.label} to {after.label}; "
        "it goes draft -> in review -> published (edit a published review to revise it)",
        field="state",
    )


@dataclass(frozen=True)
class EditOutcome:
    state: PirState
    new_revision: bool


def edit_state(state: PirState) -> EditOutcome:
    """Editing a draft or a review in review keeps its state; editing a published review
    starts the next revision as a draft, and the published one stays readable."""
    if state == PirState.published:
        return EditOutcome(PirState.draft, new_revision=True)
    return EditOutcome(state, new_revision=False)


def parse_severities(text: str | Iterable[str]) -> frozenset[str]:
    """``SEV1,SEV2`` (or a list of such): the severities that need a review."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    found = set()
    for part in parts:
        name = part.strip().upper()
        if not name:
            continue
        if name.isdigit():
            name = f"SEV{name}"
        if name not in {"SEV1", "SEV2", "SEV3", "SEV4"}:
            raise ValidationFailed(
                f"pir_required_severities: {part!r} is not SEV1 to SEV4",
                field="pir_required_severities",
            )
        found.add(name)
    return frozenset(found)


def is_required(severity: str, required: Iterable[str]) -> bool:
    return severity in set(required)


def due_at(resolved_at: datetime | None, hours: int) -> datetime | None:
    """A review is due ``hours`` after the incident was resolved; not before it is."""
    return None if resolved_at is None else resolved_at + timedelta(hours=hours)


def is_overdue(
    *,
    required: bool,
    due: datetime | None,
    state: PirState | None,
    now: datetime,
) -> bool:
    """Required, past its due time, and missing (``state`` None) or not yet published."""
    return required and due is not None and now > due and state != PirState.published


@dataclass(frozen=True)
class Why:
    position: int
    question: str
    answer: str


def check_whys(entries: Sequence[tuple[int | None, str, str]]) -> list[Why]:
    """The five-whys chain from (position, question, answer) entries.

    Positions, when given, must be 1, 2, 3… in the order sent. Every answer is needed. Each
    answer is what the next question asks about: a later question left blank reads "Why
    <previous answer>?", and only the first question must be written out.
    """
    if len(entries) > MAX_WHYS:
        raise ValidationFailed(f"whys: at most {MAX_WHYS} steps", field="whys")
    chain: list[Why] = []
    for index, (position, question, answer) in enumerate(entries):
        where = f"whys[{index}]"
        if position is not None and position != index + 1:
            raise ValidationFailed(
                f"{where}.position: expected {index + 1} (steps are numbered in order), "
                f"got {position}",
                field=f"{where}.position",
            )
        answer = answer.strip()
        question = question.strip()
        if not answer:
            raise ValidationFailed(
                f"{where}.answer: every step needs an answer", field=f"{where}.answer"
            )
        if not question:
            if not chain:
                raise ValidationFailed(
                    f"{where}.question: the first step needs its question",
                    field=f"{where}.question",
                )
            question = f"Why {chain[-1].answer.rstrip('.')}?"
        chain.append(Why(index + 1, question, answer))
    return chain


def parse_window(text: str, *, field: str = "since") -> timedelta:
    """``30d``, ``12h`` or ``2w``: how far back the compliance views look."""
    return periods.span(text, field=field)


def duration_minutes(started: datetime, resolved: datetime | None) -> float | None:
    return None if resolved is None else (resolved - started).total_seconds() / 60
