"""The collector's settings in a serving process (:mod:`opsloop.core.collector`).

Checked in a fresh interpreter, as a worker starts: this one's collector belongs to pytest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from opsloop.core.collector import SERVING_THRESHOLDS

_REPORT = (
    "import gc, json\n"
    "from opsloop.worker import create_app\n"
    "create_app()\n"
    "print(json.dumps([gc.get_threshold(), gc.get_freeze_count(), gc.isenabled()]))\n"
)


def test_a_worker_freezes_what_it_built_and_collects_young_objects_less_often(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "OPSLOOP_DATA_DIR": str(tmp_path)}
    env.pop("OPSLOOP_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", _REPORT],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env=env,
    )
    thresholds, frozen, enabled = json.loads(result.stdout.strip().splitlines()[-1])
    assert tuple(thresholds) == SERVING_THRESHOLDS
    assert SERVING_THRESHOLDS[0] > 700  # above CPython's default
    assert frozen > 100_000  # the app's objects, skipped by every later collection
    assert enabled
