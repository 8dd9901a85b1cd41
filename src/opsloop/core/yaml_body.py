"""Request bodies that are YAML documents (SLO specs, catalog files): checked alike."""

from __future__ import annotations

from fastapi import Request

from opsloop.core.errors import UnsupportedMediaType, ValidationFailed

#: What clients send YAML as; text/plain because curl --data-binary sends that unless told.
YAML_TYPES = {"application/yaml", "application/x-yaml", "text/yaml", "text/plain"}
MAX_YAML_BYTES = 1_000_000


async def read_yaml_body(request: Request, what: str) -> str:
    """The body as text: a YAML media type, at most 1 MB, UTF-8; ``what`` names it in errors."""
    media = request.headers.get("content-type", "").split(";")[0].strip()
    if media not in YAML_TYPES:
        raise UnsupportedMediaType(f"send the {what} as application/yaml", field="body")
    body = await request.body()
    if len(body) > MAX_YAML_BYTES:
        raise ValidationFailed(f"{what} is larger than 1 MB", field="body")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed(f"{what} must be UTF-8", field="body") from None
