from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field, StrictBool, StrictInt

from opsloop.core.auth.roles import Role
from opsloop.core.schemas import PlainStr, Schema, explain_pattern

#: The rules the service enforces, stated in the schema (users.username is VARCHAR(64)).
USERNAME_PATTERN = explain_pattern(
    r"^[a-z0-9][a-z0-9._-]{0,63}$",
    "must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit",
)
Username = Annotated[str, Field(min_length=1, max_length=64, pattern=USERNAME_PATTERN)]
MIN_PASSWORD_LENGTH = 10


class UserOut(Schema):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    disabled: bool
    created_at: datetime
    updated_at: datetime


class UserCreate(Schema):
    model_config = ConfigDict(extra="forbid")

    username: Username
    role: Role
    display_name: Annotated[PlainStr, Field(max_length=200)] = ""
    password: Annotated[PlainStr, Field(min_length=MIN_PASSWORD_LENGTH, max_length=1000)] | None = (
        None
    )


class UserUpdate(Schema):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    disabled: StrictBool | None = None
    display_name: Annotated[PlainStr, Field(max_length=200)] | None = None


class TokenOut(Schema):
    id: int
    user: str
    name: str
    prefix: str
    role: Role
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreate(Schema):
    model_config = ConfigDict(extra="forbid")

    user: Username | None = Field(default=None, description="defaults to the caller")
    role: Role
    name: Annotated[PlainStr, Field(max_length=100)] = ""
    expires_in_days: StrictInt | None = Field(default=None, ge=1, le=3650)


class TokenCreated(TokenOut):
    token: str = Field(description="the secret; shown only in this response")


class Me(Schema):
    username: str
    role: Role
