"""End to end: a real ``opsloop serve`` driven by headless Chromium.

Needs Debian's Chromium at /usr/bin/chromium; the machine may have no network at all, so the
browser is started with everything that would phone home switched off.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
READY_TIMEOUT = 30.0


@dataclass(frozen=True)
class Server:
    base_url: str
    admin_password: str


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(base_url: str, process: subprocess.Popen[bytes], stderr: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    last = "no answer yet"
    with httpx.Client(trust_env=False, timeout=2.0) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(
                    f"opsloop serve exited with {process.returncode} before it was ready:\n"
                    f"{stderr.read_text(errors='replace')}"
                )
            try:
                response = http.get(f"{base_url}/readyz")
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text}"
            except httpx.TransportError as exc:
                last = repr(exc)
            time.sleep(0.2)
    pytest.fail(
        f"opsloop serve was not ready after {READY_TIMEOUT:.0f} s (last: {last}); its stderr:\n"
        f"{stderr.read_text(errors='replace')}"
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    port = _free_port()
    password = secrets.token_urlsafe(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLOOP_")}
    env.update(
        OPSLOOP_DATA_DIR=str(tmp_path / "data"),
        OPSLOOP_ADMIN_PASSWORD=password,
        OPSLOOP_DEMO_DATA="true",
    )
    command = [
        str(Path(sys.executable).parent / "opsloop"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    stderr_path = tmp_path / "serve.stderr"
    with (
        open(tmp_path / "serve.stdout", "wb") as stdout,
        open(stderr_path, "wb") as stderr,
    ):
        process = subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base_url, process, stderr_path)
        yield Server(base_url, password)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.browser
def test_sign_in_overview_navigation_and_sign_out(server: Server, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing; install it with `apt-get install -y chromium`")
    base = server.base_url
    page_errors: list[str] = []
    failed: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            # opsloop serves no favicon; every other request of the pages must succeed.
            page.on(
                "response",
                lambda r: (
                    failed.append(f"{r.status} {r.url}")
                    if r.status >= 400 and not r.url.endswith("/favicon.ico")
                    else None
                ),
            )

            page.goto(f"{base}/")
            expect(page).to_have_url(f"{base}/login?next=/")
            expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

            page.get_by_label("Username").fill("admin")
            page.get_by_label("Password").fill(server.admin_password)
            page.get_by_role("button", name="Sign in").click()

            expect(page).to_have_url(f"{base}/")
            expect(page.get_by_role("heading", name="Overview")).to_be_visible()
            expect(page.get_by_test_id("who")).to_have_text("Administrator · admin")
            expect(page.get_by_test_id("users")).to_have_text("4")
            # Filled in by htmx after the page loaded: proves the vendored script runs.
            expect(page.get_by_test_id("chain-status")).to_have_text(
                re.compile(r"^intact · \d+ records$")
            )
            page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)

            page.get_by_role("navigation", name="Domains").get_by_role("link", name="SLOs").click()
            expect(page).to_have_url(f"{base}/slos")
            expect(page.get_by_role("heading", name="SLOs")).to_be_visible()

            page.get_by_role("button", name="Sign out").click()
            expect(page).to_have_url(f"{base}/login")
            expect(page.get_by_test_id("who")).to_have_count(0)
            page.goto(f"{base}/")
            expect(page).to_have_url(f"{base}/login?next=/")
        finally:
            browser.close()

    assert page_errors == []
    assert failed == []
    assert (tmp_path / "overview.png").stat().st_size > 0
