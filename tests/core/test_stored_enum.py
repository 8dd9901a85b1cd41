"""Enum columns: the model sees enum members, the database keeps the plain strings."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import StatementError

from opsloop.core.auth.models import User
from opsloop.core.auth.roles import SYSTEM, Role
from opsloop.core.db import Database
from opsloop.slo import service as slo_service
from opsloop.slo.models import SLO
from opsloop.slo.sources import Source
from tests.helpers import make_user


def test_roles_come_back_as_members_and_are_stored_as_their_names(db: Database) -> None:
    make_user(db, "ada", Role.approver)
    with db.read() as session:
        user = session.scalars(select(User).where(User.username == "ada")).one()
        assert user.role is Role.approver
        stored = session.execute(text("SELECT role FROM users WHERE username = 'ada'")).scalar()
    assert stored == "approver" and type(stored) is str


def test_a_value_outside_the_enum_never_reaches_the_table(db: Database) -> None:
    make_user(db, "ada", Role.viewer)
    with (
        pytest.raises(StatementError, match="'root' is not a valid Role"),
        db.write() as session,
    ):
        session.execute(update(User).values(role="root"))
    with db.read() as session:
        assert session.execute(text("SELECT role FROM users")).scalar() == "viewer"


def test_slo_source_is_a_member(db: Database) -> None:
    defn = slo_service.pushed_definition(
        service="shop", name="checkout", objective=99.0, window="month"
    )
    with db.write() as session:
        slo_service.apply_definition(session, principal=SYSTEM, defn=defn)
    with db.read() as session:
        slo = session.scalars(select(SLO)).one()
        assert slo.source is Source.push
        assert session.execute(text("SELECT source FROM slos")).scalar() == "push"
