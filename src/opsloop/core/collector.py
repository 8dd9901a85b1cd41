"""The cyclic garbage collector in a serving process.

CPython's default (a young collection every 700 net new container objects) was made for
programs whose objects either die young or live for good. A worker serving dozens of requests
at once is neither: each request holds a few thousand objects for some milliseconds, and every
young collection that runs meanwhile moves them a generation up. Under load a worker made some
300 young collections a second and, since so much reached the oldest generation, a full
collection every third of a second, each walking every long-lived object (kept answers,
SQLAlchemy's statement cache) for 10-40 ms while no request moved; they found nothing to free.
That pause was the slowest percent of every read (benchmarks/perf, "the collector").

With a young generation of 10,000 objects a collection runs some fifteen times less often, and
most of what a request made has been freed by reference counting before one runs, so little
is moved up and full collections become rare. Cyclic garbage waits a little longer: at most
10,000 objects, well under the memory budget.
"""

from __future__ import annotations

import gc

#: gc.set_threshold's three values for serving: young, middle and old generation.
SERVING_THRESHOLDS = (10_000, 10, 10)


def settle_for_serving() -> None:
    """After the app is imported and built: freeze what exists (it lives as long as the
    process, later collections skip it) and collect young objects less often."""
    gc.freeze()
    gc.set_threshold(*SERVING_THRESHOLDS)
