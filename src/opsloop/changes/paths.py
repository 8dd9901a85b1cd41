"""The ``change_key`` path convertor: a change key in a path, never one of the change API's own
paths beside it (``/changes/assess``, ``/changes/dora`` and the like). Without it those paths
would also match ``/changes/{key}``, and OPTIONS would list its PATCH for them."""

from __future__ import annotations

from starlette.convertors import StringConvertor, register_url_convertor

#: Paths under /api/v1/changes that are not change keys.
RESERVED = ("assess", "compliance", "dora", "evidence", "record")


class ChangeKeyConvertor(StringConvertor):
    regex = "(?!(?:" + "|".join(RESERVED) + ")$)[^/]+"


register_url_convertor("change_key", ChangeKeyConvertor())
#: The path parameter of a change at the end of a path (where it could be read as one of those).
KEY = "{key:change_key}"
