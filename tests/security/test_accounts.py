"""Sessions after password changes and disabling, the last admin, concurrent user creation,
first start, and the token cache's order against the commit."""

from __future__ import annotations

import os
import stat
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from opsloop.core.auth import service as auth
from opsloop.core.auth.cache import TokenCache, clear_after_commit
from opsloop.core.auth.models import User
from opsloop.core.auth.roles import SYSTEM, Principal, Role
from opsloop.core.bootstrap import ADMIN_USERNAME, first_start
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.core.errors import Conflict
from tests.helpers import bearer, make_token, make_user
from tests.security.conftest import PASSWORD, attempt


def _signed_in(client: TestClient) -> bool:
    return client.get("/", follow_redirects=False).status_code == 200


def test_a_password_change_ends_the_users_sessions(
    client: TestClient, db: Database, dana: str
) -> None:
    assert attempt(client, dana, PASSWORD)[0] == 303
    assert _signed_in(client)
    with db.write() as session:
        auth.set_password(session, principal=SYSTEM, username=dana, password="a brand new password")
    assert not _signed_in(client)


def test_re_enabling_a_user_does_not_revive_old_sessions(
    client: TestClient, db: Database, dana: str
) -> None:
    make_user(db, "root", Role.admin)  # so that dana is not the last admin
    assert attempt(client, dana, PASSWORD)[0] == 303
    with db.write() as session:
        auth.update_user(session, principal=SYSTEM, username=dana, disabled=True)
    with db.write() as session:
        auth.update_user(session, principal=SYSTEM, username=dana, disabled=False)
    assert not _signed_in(client)


def test_the_last_admin_cannot_be_demoted_or_disabled(client: TestClient, db: Database) -> None:
    make_user(db, "root", Role.admin)
    token = make_token(db, "root", Role.admin)
    demote = client.patch("/api/v1/users/root", json={"role": "viewer"}, headers=bearer(token))
    assert demote.status_code == 409
    assert "last enabled admin" in demote.json()["error"]["message"]
    with pytest.raises(Conflict), db.write() as session:
        auth.update_user(session, principal=SYSTEM, username="root", disabled=True)
    make_user(db, "second", Role.admin)
    ok = client.patch("/api/v1/users/root", json={"role": "viewer"}, headers=bearer(token))
    assert ok.status_code == 200


def test_two_admins_demoting_each_other_at_once_leave_one(db: Database) -> None:
    make_user(db, "ann", Role.admin)
    make_user(db, "ben", Role.admin)
    first_done, release = threading.Event(), threading.Event()
    results: dict[str, str] = {}

    def demote(target: str, hold: bool) -> None:
        try:
            with db.write() as session:
                auth.update_user(session, principal=SYSTEM, username=target, role=Role.viewer)
                if hold:
                    first_done.set()
                    release.wait(10)
            results[target] = "demoted"
        except Conflict:
            results[target] = "refused"

    one = threading.Thread(target=demote, args=("ben", True))
    one.start()
    assert first_done.wait(10)
    two = threading.Thread(target=demote, args=("ann", False))
    two.start()
    time.sleep(0.5)  # the second is now waiting for the first's lock
    release.set()
    one.join()
    two.join()
    assert results == {"ben": "demoted", "ann": "refused"}
    with db.read() as session:
        admins = session.scalars(select(User.username).where(User.role == "admin")).all()
    assert admins == ["ann"]


def test_a_user_created_twice_at_once_is_one_201_and_one_409(
    client: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    # Deterministic: the first create holds its transaction open while the second runs its
    # check (which passes) and its insert (which waits on the first's unique index entry).
    holding, release = threading.Event(), threading.Event()
    outcome: list[object] = []

    def hold_first() -> None:
        with db.write() as session:
            auth.create_user(session, principal=SYSTEM, username="erin", role=Role.viewer)
            holding.set()
            release.wait(10)

    first = threading.Thread(target=hold_first)
    first.start()
    assert holding.wait(10)

    def second() -> None:
        response = client.post(
            "/api/v1/users",
            json={"username": "erin", "role": "viewer"},
            headers=bearer(tokens[Role.admin]),
        )
        outcome.append(response.status_code)

    other = threading.Thread(target=second)
    other.start()
    time.sleep(0.5)
    release.set()
    first.join()
    other.join()
    assert outcome == [409]


def test_racing_api_creates_give_201_and_409(client: TestClient, tokens: dict[Role, str]) -> None:
    def race(name: str) -> list[int]:
        barrier = threading.Barrier(2)
        codes: list[int] = []

        def create() -> None:
            barrier.wait()
            response = client.post(
                "/api/v1/users",
                json={"username": name, "role": "viewer"},
                headers=bearer(tokens[Role.admin]),
            )
            codes.append(response.status_code)

        threads = [threading.Thread(target=create) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sorted(codes)

    for attempt_no in range(5):
        assert race(f"racer{attempt_no}") == [201, 409]


def test_plain_first_start_creates_only_the_admin(db: Database, tmp_path: Path) -> None:
    settings = Settings(database_url=db.url, data_dir=tmp_path)
    created = first_start(db, settings)
    assert list(created) == [ADMIN_USERNAME]
    with db.read() as session:
        assert [u.username for u in auth.list_users(session)] == [ADMIN_USERNAME]
    path = tmp_path / "admin-password"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == created[ADMIN_USERNAME]


def test_demo_users_get_random_passwords(db: Database, tmp_path: Path) -> None:
    created = first_start(db, Settings(database_url=db.url, data_dir=tmp_path), demo=True)
    assert sorted(created) == ["admin", "alice", "bob", "carol"]
    assert len(set(created.values())) == 4
    assert "opsloop-demo" not in created.values()
    assert all(len(p) >= 16 for p in created.values())


def test_the_admin_password_file_is_never_readable_by_others(tmp_path: Path) -> None:
    from opsloop.core import bootstrap

    old_umask = os.umask(0)  # the most permissive umask: a create-then-chmod would show 0666
    try:
        seen: list[int] = []
        real_open = os.open

        def spying_open(path: str, flags: int, mode: int = 0o777) -> int:
            fd = real_open(path, flags, mode)
            seen.append(stat.S_IMODE(os.fstat(fd).st_mode))
            return fd

        os.open = spying_open  # type: ignore[assignment]
        try:
            bootstrap._remember(tmp_path, "pw")
        finally:
            os.open = real_open  # type: ignore[assignment]
    finally:
        os.umask(old_umask)
    assert seen == [0o600]


def test_replicas_starting_together_create_one_admin(db: Database, tmp_path: Path) -> None:
    settings = Settings(database_url=db.url, data_dir=tmp_path)
    barrier = threading.Barrier(4)
    results: list[object] = []

    def start() -> None:
        replica = Database(db.url)
        barrier.wait()
        try:
            results.append(first_start(replica, settings, demo=True))
        except Exception as exc:
            results.append(exc)
        finally:
            replica.dispose()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(r) for r in results if isinstance(r, dict)) == [0, 0, 0, 4], results
    with db.read() as session:
        assert len(auth.list_users(session)) == 4


def _lookup(db: Database, token: str) -> Principal:
    with db.read() as session:
        return auth.authenticate_token_until(session, plaintext=token)[0]


def test_a_revoked_token_is_not_kept_by_a_recache_before_the_commit(db: Database) -> None:
    """A request that re-caches the token between the clear and the commit (the old order
    cleared inside the transaction) must not leave the revoked token usable."""
    make_user(db, "fred", Role.viewer)
    token = make_token(db, "fred", Role.viewer)
    cache = TokenCache(ttl=timedelta(minutes=5))

    with db.write() as session:
        revoke_at_commit = auth.list_tokens(session, principal=SYSTEM, username="fred")[0][0].id

        def concurrent_request(_: object) -> None:
            # Runs just before the commit: the database still says the token is valid.
            generation = cache.generation
            cache.put(token, _lookup(db, token), None, generation=generation)

        event.listen(session, "before_commit", concurrent_request, once=True)
        auth.revoke_token(session, principal=SYSTEM, token_id=revoke_at_commit)
        clear_after_commit(session, cache)

    assert cache.get(token) is None


def test_a_lookup_read_before_the_commit_is_not_stored_after_the_clear(db: Database) -> None:
    make_user(db, "gus", Role.viewer)
    token = make_token(db, "gus", Role.viewer)
    cache = TokenCache(ttl=timedelta(minutes=5))
    generation = cache.generation
    stale = _lookup(db, token)  # read while the token was valid
    with db.write() as session:
        auth.revoke_token(
            session,
            principal=SYSTEM,
            token_id=auth.list_tokens(session, principal=SYSTEM, username="gus")[0][0].id,
        )
        clear_after_commit(session, cache)
    cache.put(token, stale, None, generation=generation)  # the slow request finishes now
    assert cache.get(token) is None
