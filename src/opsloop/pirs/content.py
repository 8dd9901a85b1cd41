"""The sections of a review as one validated document, stored as JSON on the review (and on
each published revision). Pure: Pydantic only, no database.

Blameless by design: no field asks who caused the incident. People appear only as authors of
timeline entries copied from the incident and as attendees of the review meeting.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    ValidationError,
)

from opsloop.core.errors import ValidationFailed
from opsloop.core.schemas import PLAIN_PATTERN, Schema
from opsloop.pirs.rules import MAX_WHYS, check_whys


def _moment_in(value: Any) -> Any:
    # A datetime from the services, or ISO text; a bare number would read as epoch seconds.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-01-01T00:00:00Z")
    return value


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


Moment = Annotated[datetime, BeforeValidator(_moment_in), AfterValidator(_utc)]
Text = Annotated[str, StringConstraints(pattern=PLAIN_PATTERN, max_length=20_000)]
Line = Annotated[str, StringConstraints(pattern=PLAIN_PATTERN, min_length=1, max_length=500)]
Short = Annotated[str, StringConstraints(pattern=PLAIN_PATTERN, max_length=500)]

#: The headings of a review, in the order every rendering shows them.
SECTIONS = (
    ("summary", "Summary"),
    ("impact", "Impact"),
    ("root_cause", "Root cause"),
    ("whys", "Five whys"),
    ("contributing_factors", "Contributing factors"),
    ("timeline", "Timeline"),
    ("went_well", "What went well"),
    ("went_poorly", "What went poorly"),
    ("lessons_learned", "Lessons learned"),
    ("action_items", "Action items"),
    ("review_meeting", "Review meeting"),
)
HEADINGS = tuple(heading for _, heading in SECTIONS)


class _Part(Schema):
    model_config = ConfigDict(extra="forbid")


class Impact(_Part):
    users_affected: Annotated[StrictInt, Field(ge=0, le=10_000_000_000)] | None = None
    revenue: Annotated[str, StringConstraints(pattern=PLAIN_PATTERN, max_length=200)] = ""
    description: Text = ""


class WhyStep(_Part):
    position: StrictInt | None = Field(default=None, description="1, 2, 3… in order")
    question: Short = Field(default="", description="blank after the first: why <previous answer>")
    answer: Short


class TimelineEntry(_Part):
    at: Moment
    text: Annotated[str, StringConstraints(pattern=PLAIN_PATTERN, min_length=1, max_length=2000)]
    kind: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,16}$")] = "note"
    #: The incident's timeline event it was copied from; None for an entry added in the review.
    source_event_id: StrictInt | None = None


class PirContent(_Part):
    summary: Text = ""
    impact: Impact = Field(default_factory=Impact)
    root_cause: Text = ""
    whys: list[WhyStep] = Field(default_factory=list, max_length=MAX_WHYS)
    contributing_factors: list[Line] = Field(default_factory=list, max_length=50)
    timeline: list[TimelineEntry] = Field(default_factory=list, max_length=2000)
    went_well: Text = ""
    went_poorly: Text = ""
    lessons_learned: Text = ""


class ReviewMeeting(_Part):
    scheduled_at: Moment
    attendees: list[
        Annotated[
            str,
            StringConstraints(
                strip_whitespace=True, min_length=1, max_length=64, pattern=PLAIN_PATTERN
            ),
        ]
    ] = Field(default_factory=list, max_length=100)
    notes: Text = ""
    #: Ids of the incident's action items the meeting agreed on.
    validated_action_items: list[Annotated[StrictInt, Field(ge=1)]] = Field(
        default_factory=list, max_length=500
    )


def _first_error(exc: ValidationError, field: str | None) -> ValidationFailed:
    first = exc.errors()[0]
    where = "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"]
    ).lstrip(".")
    name = f"{field}.{where}" if field and where else (where or field or "body")
    return ValidationFailed(f"{name}: {first['msg']}", field=name)


def checked_content(value: Any) -> PirContent:
    """A document from JSON-like data, its whys chain checked and numbered, timeline sorted."""
    try:
        content = value if isinstance(value, PirContent) else PirContent.model_validate(value)
    except ValidationError as exc:
        raise _first_error(exc, None) from None
    chain = check_whys([(w.position, w.question, w.answer) for w in content.whys])
    whys = [WhyStep(position=w.position, question=w.question, answer=w.answer) for w in chain]
    timeline = sorted(content.timeline, key=lambda e: e.at)
    return content.model_copy(update={"whys": whys, "timeline": timeline})


def merged(content: PirContent, changes: dict[str, Any]) -> PirContent:
    """``content`` with the sections in ``changes`` replaced (impact merged field by field)."""
    unknown = sorted(set(changes) - set(PirContent.model_fields))
    if unknown:
        raise ValidationFailed(f"{unknown[0]}: not a section of a review", field=unknown[0])
    data = content.model_dump(mode="json")
    for name, value in changes.items():
        if name == "impact" and isinstance(value, dict):
            data["impact"] = {**data["impact"], **value}
        else:
            data[name] = value
    return checked_content(data)


def checked_meeting(value: Any) -> ReviewMeeting:
    try:
        meeting = value if isinstance(value, ReviewMeeting) else ReviewMeeting.model_validate(value)
    except ValidationError as exc:
        raise _first_error(exc, "review_meeting") from None
    ids = meeting.validated_action_items
    if len(set(ids)) != len(ids):
        raise ValidationFailed(
            "review_meeting.validated_action_items: an id is listed twice",
            field="review_meeting.validated_action_items",
        )
    return meeting


def load_content(raw: str) -> PirContent:
    return PirContent.model_validate_json(raw or "{}")


def load_meeting(raw: str | None) -> ReviewMeeting | None:
    return ReviewMeeting.model_validate_json(raw) if raw else None


def missing_for_publishing(content: PirContent) -> list[str]:
    """What a review needs before it is published: a summary, a root cause and a whys chain."""
    missing = []
    if not content.summary.strip():
        missing.append("summary")
    if not content.root_cause.strip():
        missing.append("root_cause")
    if not content.whys:
        missing.append("whys")
    return missing
