"""What each ``opsloop serve`` worker process builds first: the app, with the cyclic garbage
collector paused while it is imported and built.

Importing the app creates some 200,000 objects, and the collector would walk the growing heap
again and again meanwhile (a tenth of the start-up time). After one collection the survivors,
which live as long as the process, are frozen: later collections no longer walk them, so they
stay as cheap under load as in a small program.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI


def create_app() -> FastAPI:
    gc.disable()
    try:
        from opsloop.app import create_app as build

        app = build()
    finally:
        gc.enable()
    gc.collect()
    gc.freeze()
    return app
