from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from opsloop.core.auth.roles import Role


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    disabled: bool
    created_at: datetime
    updated_at: datetime


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    role: Role
    display_name: str = Field(default="", max_length=200)
    password: str | None = Field(default=None, max_length=1000)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    disabled: bool | None = None
    display_name: str | None = Field(default=None, max_length=200)


class TokenOut(BaseModel):
    id: int
    user: str
    name: str
    prefix: str
    role: Role
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(default=None, description="defaults to the caller")
    role: Role
    name: str = Field(default="", max_length=100)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenCreated(TokenOut):
    token: str = Field(description="the secret; shown only in this response")


class Me(BaseModel):
    username: str
    role: Role
