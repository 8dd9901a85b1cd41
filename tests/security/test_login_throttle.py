"""Sign-in throttling: per account and per client address, stored in the database."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from opsloop.app import create_app
from opsloop.core.audit.models import AuditRecord
from opsloop.core.auth import sessions
from opsloop.core.auth.throttle import ThrottlePolicy, TooManyAttempts
from opsloop.core.clock import FrozenClock
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.core.errors import Unauthorized
from tests.security.conftest import PASSWORD, attempt


def _audit_actions(db: Database) -> list[tuple[str, str]]:
    with db.read() as session:
        rows = session.execute(
            select(AuditRecord.action, AuditRecord.actor).order_by(AuditRecord.seq)
        )
        return [(a, b) for a, b in rows if a.startswith("auth.")]


def test_five_failures_lock_the_account_even_for_the_right_password(
    client: TestClient, db: Database, dana: str, frozen_clock: FrozenClock
) -> None:
    for _ in range(5):
        assert attempt(client, dana, "wrong password")[0] == 401

    status, headers = attempt(client, dana, PASSWORD)
    assert status == 429
    assert headers["retry-after"] == "30"

    frozen_clock.advance(timedelta(seconds=29))
    assert attempt(client, dana, PASSWORD)[0] == 429
    frozen_clock.advance(timedelta(seconds=1))
    assert attempt(client, dana, PASSWORD)[0] == 303

    # The success reset the account: four more failures are plain 401s again.
    client.cookies.clear()
    for _ in range(4):
        assert attempt(client, dana, "wrong password")[0] == 401
    assert attempt(client, dana, PASSWORD)[0] == 303


def test_each_lock_after_the_first_is_twice_as_long(
    client: TestClient, dana: str, frozen_clock: FrozenClock
) -> None:
    for _ in range(5):
        attempt(client, dana, "wrong password")
    waits = []
    for _ in range(3):
        status, headers = attempt(client, dana, "wrong password")
        assert status == 429
        waits.append(int(headers["retry-after"]))
        frozen_clock.advance(timedelta(seconds=waits[-1]))
        assert attempt(client, dana, "wrong password")[0] == 401  # one try after each lock
    assert waits == [30, 60, 120]


def test_failures_from_one_address_lock_it_for_every_username(
    app_client: TestClient, db: Database, dana: str, frozen_clock: FrozenClock
) -> None:
    # Eight failures (the app's per-address limit) spread over names that each stay below five.
    for name in ["x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8"]:
        assert attempt(app_client, name, "guess")[0] == 401
    assert attempt(app_client, dana, PASSWORD)[0] == 429


def test_failed_logins_are_audited_without_flooding_the_chain(
    client: TestClient, db: Database, dana: str, frozen_clock: FrozenClock
) -> None:
    for _ in range(12):
        attempt(client, dana, "wrong password")
    for name in ["ghost1", "ghost2", "ghost3"]:
        attempt(client, name, "guess")

    # The first failure of the burst and the lock; the refused rest and unknown names are
    # only counted.
    assert _audit_actions(db) == [("auth.login_failed", "dana"), ("auth.login_locked", "dana")]
    with db.read() as session:
        changes = session.scalars(select(AuditRecord.changes)).all()
    assert not any("wrong password" in c for c in changes)


def test_the_lock_holds_across_workers(
    db: Database, dana: str, tmp_path: Path, frozen_clock: FrozenClock
) -> None:
    settings = Settings(database_url=db.url, data_dir=tmp_path, scheduler_enabled=False)
    with (
        TestClient(create_app(settings, db)) as one,
        TestClient(create_app(settings, Database(db.url))) as other,
    ):
        for client in [one, other, one, other, one]:
            assert attempt(client, dana, "wrong password")[0] == 401
        assert attempt(other, dana, PASSWORD)[0] == 429


def test_concurrent_guesses_cannot_pass_the_limit(db: Database, dana: str) -> None:
    """20 wrong passwords at once: exactly five are checked, the rest refused."""
    policy = ThrottlePolicy()
    barrier = threading.Barrier(20)
    outcomes: list[str] = []

    def guess() -> None:
        barrier.wait()
        try:
            sessions.login(
                db,
                username=dana,
                password="wrong password",
                client_address=f"10.0.0.{threading.get_ident() % 250}",
                lifetime=timedelta(hours=1),
                policy=policy,
            )
        except Unauthorized:
            outcomes.append("checked")
        except TooManyAttempts:
            outcomes.append("refused")

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["checked"] * 5 + ["refused"] * 15


def test_a_username_no_account_can_have_is_a_failed_sign_in_not_an_error(
    client: TestClient, db: Database, dana: str
) -> None:
    # PostgreSQL refuses NUL bytes in text; the name must never reach a query as it is.
    for name in ["da\x00na", "x" * 300, "da\nna"]:
        assert attempt(client, name, PASSWORD)[0] == 401
    assert attempt(client, dana, PASSWORD)[0] == 303
