"""A throwaway Alertmanager (Debian's ``prometheus-alertmanager``) on a free port of
127.0.0.1, clustering off, its own storage, one webhook receiver pointing at opsloop with the
token in ``http_config`` as operators configure it, and 1 s group timings so that tests see
notifications at once."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

BINARY = "prometheus-alertmanager"
INSTALL_HINT = "apt-get install -y prometheus-alertmanager"
READY_TIMEOUT = 60.0


def missing() -> str | None:
    """Why Alertmanager cannot run here, or None."""
    if shutil.which(BINARY) is None:
        return f"{BINARY} is not installed ({INSTALL_HINT})"
    return None


def config(webhook_url: str, token: str) -> dict[str, Any]:
    return {
        "route": {
            "receiver": "opsloop",
            "group_by": ["alertname"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {
                "name": "opsloop",
                "webhook_configs": [
                    {
                        "url": webhook_url,
                        "send_resolved": True,
                        "http_config": {"authorization": {"credentials": token}},
                    }
                ],
            }
        ],
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_alertmanager(tmp_path: Path, webhook_url: str, token: str) -> Iterator[str]:
    """Alertmanager sending to ``webhook_url``; yields its base URL."""
    home = tmp_path / "alertmanager"
    (home / "data").mkdir(parents=True)
    config_file = home / "alertmanager.yml"
    # JSON is YAML: no YAML writer needed for a fixed shape.
    config_file.write_text(json.dumps(config(webhook_url, token)))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = home / "alertmanager.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                BINARY,
                f"--config.file={config_file}",
                f"--storage.path={home / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=log,
            stderr=log,
        )
        try:
            deadline = time.monotonic() + READY_TIMEOUT
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    raise RuntimeError("alertmanager exited:\n" + log_path.read_text())
                try:
                    if httpx.get(f"{base}/-/ready", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            else:
                raise RuntimeError("alertmanager did not become ready:\n" + log_path.read_text())
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def post_alerts(base: str, alerts: list[dict[str, Any]]) -> None:
    response = httpx.post(f"{base}/api/v2/alerts", json=alerts, timeout=10)
    response.raise_for_status()


def fingerprints(base: str) -> dict[str, str]:
    """Alertmanager's fingerprint of each alert it holds, by the ``instance`` label."""
    response = httpx.get(f"{base}/api/v2/alerts", params={"active": "true"}, timeout=10)
    response.raise_for_status()
    return {a["labels"]["instance"]: a["fingerprint"] for a in response.json()}
