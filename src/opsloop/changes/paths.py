"""The ``change_key`` path convertor: a change key in a path, never one of the report paths
beside it (``/changes/dora`` and the like). Without it those paths would also match
``/changes/{key}``, and OPTIONS would list its PATCH for them."""

from __future__ import annotations

from starlette.convertors import StringConvertor, register_url_convertor

#: Paths under /api/v1/changes that are not change keys.
RESERVED = ("compliance", "dora", "evidence", "record")


class ChangeKeyConvertor(StringConvertor):
    regex = "(?!(?:" + "|".join(RESERVED) + ")$)[^/]+"


register_url_convertor("change_key", ChangeKeyConvertor())
