"""Lets the app's router pass over whole groups of routes a request's path cannot reach.

FastAPI keeps each included router as one entry of the app's route list and, for every
request, asks the entries in order whether they match; an entry answers by walking each of its
routes (with some bookkeeping per route). With some 40 groups and 240 routes, choosing the
route for `/api/v1/incidents` cost about 150 µs and for a web page about 400 µs, more than the
rest of a kept list's request. Here each group gets one regular expression, the union of its
routes' own path expressions, and a path that expression does not match is answered "no match"
at once. A group that no route of it can match would have answered exactly that, so the route
chosen for every request is unchanged; a group whose routes' expressions cannot all be read is
left as it was. A group's expression is made once: routes are all added before the app serves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

_GROUP_NAME = re.compile(r"\(\?P<[^>]+>")

Matcher = Callable[[Scope], tuple[Match, Scope]]


def index_routes(app: FastAPI) -> int:
    """Call once every route is added. Returns how many groups got a path check.

    A group's expression is made when the group is first asked, not here: making it reads the
    group's routes as FastAPI prepares them for requests, which it does for each group when a
    request first walks it, and that is too much work to add to the start."""
    return _index(app.router.routes)


def _index(routes: Iterable[BaseRoute]) -> int:
    indexed = 0
    for route in routes:
        # FastAPI's included routers: what they can route to, and their own entries (some of
        # which are routers included in them). Anything else keeps its own matching.
        contexts = getattr(route, "effective_route_contexts", None)
        entries = getattr(route, "effective_candidates", None)
        if callable(contexts) and callable(entries):
            # On the instance: this app's groups only, and the class's method stays as it was.
            vars(route)["matches"] = _PathCheck(route.matches, contexts, entries)
            indexed += 1
    return indexed


class _PathCheck:
    def __init__(
        self, matches: Matcher, contexts: Callable[[], Iterable[Any]], entries: Callable[[], Any]
    ) -> None:
        self.matches = matches
        self.contexts = contexts
        self.entries = entries
        self.union: re.Pattern[str] | None = None
        self.learnt = False

    def __call__(self, scope: Scope) -> tuple[Match, Scope]:
        if not self.learnt:
            self.learn()
        union = self.union
        # The same reading of the path as the routes' own (root path taken off).
        if union is None or scope["type"] != "http" or union.match(get_route_path(scope)):
            return self.matches(scope)
        return Match.NONE, {}

    def learn(self) -> None:
        self.union = _union_of(self.contexts())
        if self.union is not None:
            # A router included in this one is one entry of this one's walk.
            _index(self.entries())
        self.learnt = True


def _union_of(contexts: Iterable[Any]) -> re.Pattern[str] | None:
    patterns = _patterns(contexts)
    if not patterns:
        return None
    # Named groups would collide across the alternatives; only whether the path matches counts.
    return re.compile("|".join(f"(?:{_GROUP_NAME.sub('(?:', p)})" for p in patterns))


def _patterns(contexts: Iterable[Any]) -> list[str] | None:
    patterns = []
    for context in contexts:
        regex = getattr(context, "path_regex", None)
        own = getattr(context, "starlette_route", None)
        if own is not None:
            regex = getattr(own, "path_regex", None)
        if not isinstance(regex, re.Pattern) or not regex.pattern.startswith("^"):
            return None  # a route whose paths cannot be told here: leave the group alone
        patterns.append(regex.pattern)
    return patterns
