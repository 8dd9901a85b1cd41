from __future__ import annotations

from enum import StrEnum


class Source(StrEnum):
    """Where an SLO's good and total counts come from."""

    prometheus = "prometheus"  # queried from Prometheus at every evaluation
    push = "push"  # sent to opsloop's API, one bucket a minute
