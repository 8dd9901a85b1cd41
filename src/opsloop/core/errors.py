"""The error vocabulary shared by services, the API and the CLI.

Services raise these; the API turns them into ``{"error": {"code", "message", "field"}}`` with the
matching status, and the CLI prints the message in one line and exits 2.
"""

from __future__ import annotations


class OpsloopError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationFailed(OpsloopError):
    status = 422
    code = "validation_error"


class NotFound(OpsloopError):
    status = 404
    code = "not_found"


class Conflict(OpsloopError):
    status = 409
    code = "conflict"


class UnsupportedMediaType(OpsloopError):
    status = 415
    code = "unsupported_media_type"


class Unauthorized(OpsloopError):
    status = 401
    code = "unauthorized"


class Forbidden(OpsloopError):
    status = 403
    code = "forbidden"


class ConfigError(OpsloopError):
    code = "config_error"
