"""``opsloop serve`` as operators run it: several workers, one set of metrics."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_two_workers_report_summed_request_counts(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSLOOP_", "PROMETHEUS_"))}
    env.update(
        OPSLOOP_DATA_DIR=str(tmp_path),
        OPSLOOP_PORT=str(port),
        OPSLOOP_ADMIN_PASSWORD="serve-test-pw",
        OPSLOOP_DEMO_DATA="false",
        OPSLOOP_LOG_FORMAT="json",
    )
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [BIN / "opsloop", "serve", "--workers", "2"], env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            pytest.fail((tmp_path / "server.log").read_text())
        # New connections each time, so both workers get some of them.
        for _ in range(40):
            assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        text = httpx.get(f"{base}/metrics", timeout=5).text
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    served = sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "opsloop_http_requests_total"
        and sample.labels.get("route") == "/healthz"
        and sample.labels.get("status") == "200"
    )
    assert served == 40
    lines = (tmp_path / "server.log").read_text().splitlines()
    assert any('"route": "/healthz"' in line and '"request_id"' in line for line in lines)
