"""The renderings of a review: Markdown, HTML that headless Chromium lays out with every
section, and a PDF (WeasyPrint) whose text, read back by pdftotext, has every section heading.
Action items, which another domain will supply, are shown from their attributes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from opsloop.pirs import render
from opsloop.pirs.content import HEADINGS, checked_content, checked_meeting
from opsloop.pirs.rules import PirState
from opsloop.pirs.views import IncidentFacts, PirDocument
from tests.pirs.helpers import WHYS
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@dataclass
class Item:
    id: int
    description: str
    owner: str
    priority: str
    due_on: date
    status: str


def _doc() -> PirDocument:
    content = checked_content(
        {
            "summary": "Checkout failed for most users",
            "impact": {"users_affected": 1200, "revenue": "~3k EUR", "description": "EU only"},
            "root_cause": "connection pool too small",
            "whys": WHYS,
            "contributing_factors": ["no saturation alert"],
            "timeline": [{"at": "2026-11-02T09:05:00Z", "text": "DBA paged <b>now</b>"}],
            "went_well": "fast rollback",
            "went_poorly": "slow paging",
            "lessons_learned": "alert on saturation",
        }
    )
    return PirDocument(
        incident=IncidentFacts(
            id=1,
            key="INC-2026-001",
            title="Checkout errors",
            severity="SEV1",
            status="resolved",
            started_at=T0,
            resolved_at=datetime(2026, 11, 2, 10, 35, tzinfo=UTC),
            services=("checkout",),
            required=True,
            due_at=datetime(2026, 11, 4, 10, 35, tzinfo=UTC),
        ),
        state=PirState.published,
        revision=2,
        content=content,
        review_meeting=checked_meeting(
            {"scheduled_at": "2026-11-05T10:00:00Z", "attendees": ["alice"], "notes": "ok"}
        ),
        action_items=[
            Item(7, "Alert on pool saturation", "alice", "high", date(2026, 11, 20), "open")
        ],
        published_at=datetime(2026, 11, 3, 12, 0, tzinfo=UTC),
    )


def test_markdown_has_every_section_in_order_and_the_computed_duration() -> None:
    text = render.to_markdown(_doc())
    positions = [text.index(f"## {heading}\n") for heading in HEADINGS]
    assert positions == sorted(positions)
    assert "- Duration: 1 h 35 min" in text
    assert "2. **Why the database refused connections?** the pool was sized" in text
    assert "| 7 | Alert on pool saturation | alice | high | 2026-11-20 | open |" in text


def test_the_app_starts_without_weasyprint() -> None:
    code = "import sys, opsloop.app, opsloop.pirs.cli; sys.exit('weasyprint' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_pdf_text_has_every_section_heading(tmp_path: Path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing; install it with `apt-get install -y poppler-utils`")
    pdf = render.to_pdf(_doc())
    assert pdf.startswith(b"%PDF")
    path = tmp_path / "pir.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    for heading in HEADINGS:
        assert heading in text, heading
    assert "Post-incident review: INC-2026-001" in text and "1 h 35 min" in text
    assert "Alert on pool saturation" in text


@pytest.mark.browser
def test_chromium_lays_out_every_section(tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing; install it with `apt-get install -y chromium`")
    path = tmp_path / "pir.html"
    path.write_text(render.to_html(_doc()))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page()
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri())
            headings = page.locator("h2").all_inner_texts()
            assert headings == list(HEADINGS)
            for section in page.locator("section").all():
                assert section.is_visible()
            # Escaped, not interpreted: typed text never becomes markup.
            assert "DBA paged <b>now</b>" in page.locator("#timeline").inner_text()
            assert page.locator("#whys li").count() == 3
        finally:
            browser.close()
    assert requests == [path.as_uri()]  # self-contained: nothing fetched
