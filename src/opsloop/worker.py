"""What each ``opsloop serve`` worker process builds first: the app, with the cyclic garbage
collector paused while it is imported and built.

Importing the app creates some 200,000 objects, and the collector would walk the growing heap
again and again meanwhile (a tenth of the start-up time). Those objects live as long as the
process, so they are frozen: later collections no longer walk them, and stay as cheap under load
as in a small program; and the young generation is collected less often
(:mod:`opsloop.core.collector`).

There is no collection before the freeze: import and build leave under a thousand cyclic
garbage objects (a few hundred KB, kept for good once frozen), and a full collection over the
200,000 live ones would cost each worker about 0.1 s of CPU before it can answer.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

from opsloop.core.collector import settle_for_serving

if TYPE_CHECKING:
    from fastapi import FastAPI


def create_app() -> FastAPI:
    gc.disable()
    try:
        from opsloop.app import create_app as build

        app = build()
    finally:
        settle_for_serving()
        gc.enable()
    return app
