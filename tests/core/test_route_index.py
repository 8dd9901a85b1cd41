"""The route index: each request still reaches the route it reached before, and groups of
routes its path cannot reach are passed over without walking their routes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Match

import opsloop.app
from opsloop.app import create_app
from opsloop.core.config import Settings

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
UNKNOWN_PATHS = ("/", "", "/nope", "/api/v1", "/api/v1/", "/api/v1/nope", "/static", "/slos/")


def _app(tmp_path: Path, *, indexed: bool, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'opsloop.db'}",
        data_dir=tmp_path / "data",
        scheduler_enabled=False,
    )
    with monkeypatch.context() as patch:
        if not indexed:
            patch.setattr(opsloop.app, "index_routes", lambda app: 0)
        return create_app(settings)


def _route_paths(app: FastAPI) -> list[str]:
    """A concrete path for every route of every group, its parameters filled in."""
    paths = set(UNKNOWN_PATHS)
    for route in app.router.routes:
        group = getattr(route, "effective_route_contexts", None)
        for context in group() if group else [route]:
            own = getattr(context, "starlette_route", None) or context
            template = own.path_format
            paths.add(re.sub(r"\{[^}:]+:path\}", "a/b.css", template))
            filled = re.sub(r"\{[^}]+\}", "x-1", template)
            paths.update({filled, filled + "/", filled + "/extra"})
    return sorted(paths)


def _scope(path: str, method: str, root_path: str = "") -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": root_path + path,
        "root_path": root_path,
        "query_string": b"",
        "headers": [],
    }


def _answers(app: FastAPI, scope: dict[str, Any]) -> list[Match]:
    """What each entry of the app's route list answers, as the router asks them in turn."""
    return [route.matches(dict(scope))[0] for route in app.router.routes]


@pytest.fixture
def apps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[FastAPI, FastAPI]:
    return (
        _app(tmp_path / "indexed", indexed=True, monkeypatch=monkeypatch),
        _app(tmp_path / "plain", indexed=False, monkeypatch=monkeypatch),
    )


@pytest.mark.parametrize("root_path", ["", "/behind/proxy"])
def test_every_route_is_answered_as_without_the_index(
    apps: tuple[FastAPI, FastAPI], root_path: str
) -> None:
    indexed, plain = apps
    paths = _route_paths(plain)
    assert len(paths) > 500  # every route of every group, and more that match none
    compared = 0
    for path in paths:
        for method in METHODS:
            scope = _scope(path, method, root_path)
            assert _answers(indexed, scope) == _answers(plain, scope), (method, path)
            compared += 1
    assert compared == len(paths) * len(METHODS)


def test_groups_a_path_cannot_reach_are_not_walked(
    apps: tuple[FastAPI, FastAPI], monkeypatch: pytest.MonkeyPatch
) -> None:
    indexed, plain = apps
    asked: list[str] = []
    own_matches = APIRoute.matches

    def counting(self: APIRoute, scope: Any) -> Any:
        asked.append(self.path)
        return own_matches(self, scope)

    monkeypatch.setattr(APIRoute, "matches", counting)

    def routes_asked(app: FastAPI, path: str) -> int:
        asked.clear()
        _answers(app, _scope(path, "GET"))
        return len(asked)

    # Without the index every route of every group is asked, the web incident list's behind
    # all the API's; with it, only the routes of the one group the path can reach.
    for path in ("/incidents", "/api/v1/incidents", "/api/v1/me", "/slos/x-1"):
        assert routes_asked(plain, path) > 200, path
        assert routes_asked(indexed, path) <= 2, path


def test_building_the_app_leaves_each_group_to_be_read_when_first_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading a group's routes is what FastAPI does for a group the first time a request walks
    it; the index must not do it for every group while the app is built (a slower start)."""
    first = _app(tmp_path / "first", indexed=True, monkeypatch=monkeypatch)
    group_type = type(next(r for r in first.router.routes if hasattr(r, "effective_candidates")))
    read: list[object] = []
    own_contexts = group_type.effective_route_contexts

    def counting(self: Any) -> Any:
        read.append(self)
        return own_contexts(self)

    monkeypatch.setattr(group_type, "effective_route_contexts", counting)
    _app(tmp_path / "plain", indexed=False, monkeypatch=monkeypatch)
    read_by_fastapi = len(read)  # it reads routers included in routers as it includes them
    read.clear()
    app = _app(tmp_path / "second", indexed=True, monkeypatch=monkeypatch)
    assert len(read) == read_by_fastapi
    read.clear()
    assert _answers(app, _scope("/healthz", "GET"))[1] == Match.FULL
    groups = [r for r in app.router.routes if isinstance(r, group_type)]
    assert len(groups) > 30
    # Each group asked is read then (with the routers included in it), and only once.
    assert {id(g) for g in groups} <= {id(g) for g in read}
    _answers(app, _scope("/incidents", "GET"))  # and the ones included in its group
    reads = len(read)
    _answers(app, _scope("/incidents", "GET"))
    assert len(read) == reads


def test_a_group_whose_paths_cannot_be_read_is_asked_as_before() -> None:
    from opsloop.core.route_index import index_routes

    app = FastAPI()

    class Unreadable:
        path_regex = None

    class Group:
        def matches(self, scope: Any) -> tuple[Match, dict[str, Any]]:
            return Match.FULL, {}

        def effective_route_contexts(self) -> list[Unreadable]:
            return [Unreadable()]

        def effective_candidates(self) -> list[Any]:
            raise AssertionError("not read: the group keeps its own matching")

    group = Group()
    app.router.routes.append(group)  # type: ignore[arg-type]
    assert index_routes(app) == 1
    assert group.matches(_scope("/anything", "GET"))[0] == Match.FULL
