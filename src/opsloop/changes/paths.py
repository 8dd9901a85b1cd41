"""The ``change_key`` path convertor: a change key in a path, never one of the change API's own
paths beside it. Without it /api/v1/changes/assess would also match /api/v1/changes/{key},
and OPTIONS would list PATCH for it."""

from __future__ import annotations

from starlette.convertors import StringConvertor, register_url_convertor

RESERVED = ("assess",)


class ChangeKeyConvertor(StringConvertor):
    regex = "(?!(?:" + "|".join(RESERVED) + ")$)[^/]+"


register_url_convertor("change_key", ChangeKeyConvertor())
#: The path parameter of a change at the end of a path (where it could be read as one of those).
KEY = "{key:change_key}"
