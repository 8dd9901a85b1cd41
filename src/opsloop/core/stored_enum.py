"""Enum columns stored as the plain strings they always were.

A database enum type would need a migration each time a member is added, and PostgreSQL
cannot drop a member at all; a VARCHAR holding the member's value needs neither. This type
keeps that storage and hands the model back the enum, so code never converts by hand.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import String
from sqlalchemy.types import TypeDecorator

E = TypeVar("E", bound=StrEnum)


class StoredEnum(TypeDecorator[E]):
    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Any) -> str | None:
        # A plain string is accepted only if it names a member, so bad values never land.
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Any) -> E | None:
        return None if value is None else self.enum(value)
