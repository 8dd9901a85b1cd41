"""opsloop's log records: the request id on each, as text or one JSON object a line.

Kept apart from ``observability`` so that setting up logs imports no prometheus_client: that
library decides at its first import whether metric values go to the files that several
workers share (``PROMETHEUS_MULTIPROC_DIR``), and ``serve`` sets that only once it knows how
many workers there are. Workers forked from it keep the decision.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from opsloop.core.requestctx import current_request_id


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    _EXTRA = ("route", "status", "duration_ms", "client_request_id")

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "pid": record.process,  # which of serve's processes: the supervisor or a worker
        }
        for key in self._EXTRA:
            if hasattr(record, key):
                data[key] = getattr(record, key)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


def configure_logging(level: str = "info", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger("opsloop")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
