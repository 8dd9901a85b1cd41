from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictBool, StrictInt, field_validator
from pydantic_core import PydanticCustomError

from opsloop.core.schemas import (
    JsonNumber,
    Number,
    PlainStr,
    Schema,
    Tidy,
    Timestamp,
    explain_pattern,
)

#: The largest OpenSLO/Sloth spec accepted, by the API and by the web form alike.
MAX_SPEC_BYTES = 1_000_000
#: Far beyond any real per-minute count, and far below the 64-bit columns' limit even summed
#: over a quarter of minutes.
MAX_COUNT = 10**12
#: A DNS label, as services and SLO names are (the columns are VARCHAR(63)).
DNS_LABEL = explain_pattern(
    r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
    "must be 1-63 lowercase letters, digits or '-', starting and ending alphanumeric",
)
Label = Annotated[str, Field(min_length=1, max_length=63, pattern=DNS_LABEL)]
LABEL_NAME = explain_pattern(
    r"^[a-zA-Z_][a-zA-Z0-9_]{0,99}$", "must be a Prometheus label name: letters, digits, '_'"
)


class PushedEventIn(Schema):
    model_config = ConfigDict(extra="forbid")

    timestamp: Timestamp
    good: StrictInt = Field(ge=0, le=MAX_COUNT)
    total: StrictInt = Field(ge=0, le=MAX_COUNT)


class EventBatch(Schema):
    model_config = ConfigDict(extra="forbid")

    events: list[PushedEventIn] = Field(min_length=1, max_length=10_000)


class BulkEventIn(PushedEventIn):
    slo: Annotated[PlainStr, Field(min_length=1, max_length=127)] = Field(
        description="the SLO as service/name (or its id)"
    )


class BulkEventBatch(Schema):
    """Minute counts for several pushed SLOs; any bad item rejects the whole batch."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "events": [
                        {
                            "slo": "checkout/availability",
                            "timestamp": "2026-11-02T09:00:00Z",
                            "good": 998,
                            "total": 1000,
                        },
                        {
                            "slo": "search/latency",
                            "timestamp": "2026-11-02T09:00:00Z",
                            "good": 412,
                            "total": 415,
                        },
                    ]
                }
            ]
        },
    )

    events: list[BulkEventIn] = Field(min_length=1, max_length=10_000)


class PushResult(Schema):
    accepted: int


class PushedSLOCreate(Schema):
    """A pushed SLO in plain JSON, for teams without Prometheus."""

    model_config = ConfigDict(extra="forbid")

    service: Label
    name: Label
    objective: JsonNumber = Field(gt=0, lt=100, description="a percentage, e.g. 99.9")
    window: Annotated[PlainStr, Field(max_length=32)] = Field(
        default="30d", description="rolling (e.g. 28d) or week|month|quarter"
    )
    time_zone: Annotated[PlainStr, Field(min_length=1, max_length=64)] = "UTC"
    sli_kind: Literal["availability", "error_rate", "latency"] = "availability"
    description: Annotated[PlainStr, Field(max_length=2000)] = ""
    owner: Annotated[PlainStr, Field(max_length=200)] = ""
    labels: dict[
        Annotated[str, Field(pattern=LABEL_NAME)], Annotated[PlainStr, Field(max_length=200)]
    ] = Field(default_factory=dict, max_length=64)

    @field_validator("objective")
    @classmethod
    def _objective_is_a_percentage(cls, value: float) -> float:
        # 0.999 is a 0.999 % objective, which nobody means: it reads as a ratio.
        if value < 1:
            percent = format((Decimal(repr(value)) * 100).normalize(), "f")
            raise PydanticCustomError(
                "objective_percent",
                "objectives are percentages: did you mean {percent}?",
                {"percent": percent},
            )
        return value


class AppliedOut(Schema):
    id: int
    service: str
    name: str
    outcome: str


class SLOOut(Schema):
    id: int
    service: str
    name: str
    source: str
    objective: Number
    sli_kind: str
    window: str
    description: str
    owner: str
    labels: dict[str, str]
    policy_state: str
    policy_state_since: datetime
    period_started_at: datetime = Field(
        description="start of the current budget period, as of the latest evaluation"
    )
    status: Tidy[dict[str, Any] | None] = Field(
        default=None, description="the latest evaluation (see /status for a fresh one)"
    )


class ResetIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[PlainStr, Field(min_length=1, max_length=500)]


class PeriodOut(Schema):
    started_at: datetime
    ended_at: datetime | None
    reason: str
    started_by: str


class AlertEventOut(Schema):
    alert: str
    severity: str
    firing: bool
    at: datetime
    factor: Number
    long_burn: Number | None
    short_burn: Number | None


class PolicyTierIn(Schema):
    model_config = ConfigDict(extra="forbid")

    threshold: JsonNumber = Field(gt=0, le=1, description="remaining budget, a fraction")
    state: Annotated[PlainStr, Field(min_length=1, max_length=32)]
    action: Annotated[PlainStr, Field(max_length=500)]
    approver: Annotated[PlainStr, Field(min_length=1, max_length=100)] | None = None
    blocks_changes: StrictBool | None = None


class PolicyIn(Schema):
    model_config = ConfigDict(extra="forbid")

    tiers: list[PolicyTierIn] = Field(min_length=1, max_length=20)


class ServiceBudgetState(Schema):
    service: str
    state: str
    blocks_changes: bool
    approver: str | None
    slos: Tidy[list[dict[str, Any]]]
    tiers: Tidy[list[dict[str, Any]]]
