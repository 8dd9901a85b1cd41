from __future__ import annotations

from datetime import timedelta

from opsloop.core import clock
from opsloop.core.auth.cache import TokenCache
from opsloop.core.auth.roles import Principal, Role

ALICE = Principal(actor="alice", role=Role.responder, user_id=1)


def test_remembers_for_the_ttl_only(frozen_clock: clock.FrozenClock) -> None:
    cache = TokenCache(ttl=timedelta(seconds=5))
    cache.put("opl_x", ALICE, None)
    assert cache.get("opl_x") == ALICE
    assert cache.get("opl_other") is None
    frozen_clock.advance(timedelta(seconds=5))
    assert cache.get("opl_x") is None


def test_never_outlives_the_token(frozen_clock: clock.FrozenClock) -> None:
    cache = TokenCache(ttl=timedelta(seconds=5))
    cache.put("opl_x", ALICE, clock.now() + timedelta(seconds=1))
    frozen_clock.advance(timedelta(seconds=1))
    assert cache.get("opl_x") is None


def test_clear_forgets_everything(frozen_clock: clock.FrozenClock) -> None:
    cache = TokenCache()
    cache.put("opl_x", ALICE, None)
    cache.clear()
    assert cache.get("opl_x") is None
