from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

#: Far beyond any real per-minute count, and far below the 64-bit columns' limit even summed
#: over a quarter of minutes.
MAX_COUNT = 10**12


class PushedEventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timestamp: datetime
    good: int = Field(le=MAX_COUNT)
    total: int = Field(le=MAX_COUNT)


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[PushedEventIn] = Field(max_length=10_000)


class BulkEventIn(PushedEventIn):
    slo: str = Field(description="SLO id or service/name")


class BulkEventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[BulkEventIn] = Field(max_length=10_000)


class PushResult(BaseModel):
    accepted: int


class PushedSLOCreate(BaseModel):
    """A pushed SLO in plain JSON, for teams without Prometheus."""

    model_config = ConfigDict(extra="forbid")

    service: str
    name: str
    objective: float = Field(gt=0, lt=100)
    window: str = Field(default="30d", description="rolling (e.g. 28d) or week|month|quarter")
    time_zone: str = "UTC"
    sli_kind: Literal["availability", "error_rate", "latency"] = "availability"
    description: str = ""
    owner: str = ""
    labels: dict[str, str] = Field(default_factory=dict)

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


class AppliedOut(BaseModel):
    id: int
    service: str
    name: str
    outcome: str


class SLOOut(BaseModel):
    id: int
    service: str
    name: str
    source: str
    objective: float
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
    status: dict[str, Any] | None = Field(
        default=None, description="the latest evaluation (see /status for a fresh one)"
    )


class ResetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class PeriodOut(BaseModel):
    started_at: datetime
    ended_at: datetime | None
    reason: str
    started_by: str


class AlertEventOut(BaseModel):
    alert: str
    severity: str
    firing: bool
    at: datetime
    factor: float
    long_burn: float | None
    short_burn: float | None


class PolicyTierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold: float
    state: str
    action: str
    approver: str | None = None
    blocks_changes: bool | None = None


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tiers: list[PolicyTierIn]


class ServiceBudgetState(BaseModel):
    service: str
    state: str
    blocks_changes: bool
    approver: str | None
    slos: list[dict[str, Any]]
    tiers: list[dict[str, Any]]
