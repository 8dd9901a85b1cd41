from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Path
from pydantic import BaseModel

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A page of a list endpoint; pass ``next_cursor`` back as ``cursor`` for the next one."""

    items: list[T]
    next_cursor: str | None = None


#: Row ids fit PostgreSQL's 32-bit INTEGER; larger numbers are refused up front (422) instead
#: of overflowing in the database driver.
MAX_ID = 2_147_483_647
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
