"""The review pages: the link from the incident page, starting a review, the editor (sections,
whys chain, timeline, meeting, state buttons), the read view with its revisions and
downloads, the list and the compliance page; viewers read but get no controls; refusals come
back as the page with the message. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient

from opsloop.actions import service as action_items
from opsloop.actions.rules import Priority
from opsloop.core import clock
from opsloop.core.auth.roles import SYSTEM, Role
from opsloop.core.db import Database
from opsloop.pirs import service as pirs
from tests.pirs.helpers import resolved_incident
from tests.services.helpers import audit_count
from tests.web.pages import is_html, sign_in


def _sections(csrf: str, **values: str) -> dict[str, str]:
    form = {
        "csrf_token": csrf,
        "summary": "Checkout failed",
        "users_affected": "1200",
        "revenue": "3k",
        "impact_description": "",
        "root_cause": "pool too small",
        "why_question_0": "Why did checkout fail?",
        "why_answer_0": "the pool ran dry",
        "why_question_1": "",
        "why_answer_1": "traffic doubled",
        "why_question_2": "",
        "why_answer_2": "",
        "contributing_factors": "no saturation alert\nold runbook",
        "went_well": "fast rollback",
        "went_poorly": "slow paging",
        "lessons_learned": "alert on saturation",
    }
    form.update(values)
    return form


def test_a_responder_writes_reviews_and_publishes_from_the_pages(
    client: TestClient, db: Database, tokens: dict[Role, str], frozen_clock: clock.FrozenClock
) -> None:
    key = resolved_incident(db, frozen_clock)
    csrf = sign_in(client, "responder")
    incident_page = client.get(f"/incidents/{key}")
    assert f'href="/incidents/{key}/pir" data-testid="pir-link">Post-incident review' in (
        incident_page.text
    )
    empty = client.get(f"/incidents/{key}/pir")
    assert empty.status_code == 200 and 'data-testid="start-pir"' in empty.text
    started = client.post(
        f"/incidents/{key}/pir", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert (
        started.status_code == 303 and started.headers["location"] == f"/incidents/{key}/pir/edit"
    )
    editor = client.get(f"/incidents/{key}/pir/edit")
    assert editor.status_code == 200 and is_html(editor)
    assert 'data-testid="move-in_review"' in editor.text and "rolled back" in editor.text
    before = audit_count(db)
    refused = client.post(
        f"/incidents/{key}/pir/edit", data=_sections(csrf, why_answer_1="", why_question_1="x")
    )
    assert refused.status_code == 422 and 'data-field="whys[1].answer"' in refused.text
    assert audit_count(db) == before
    saved = client.post(f"/incidents/{key}/pir/edit", data=_sections(csrf), follow_redirects=False)
    assert saved.status_code == 303, saved.text
    added = client.post(
        f"/incidents/{key}/pir/timeline",
        data={"csrf_token": csrf, "at": "2026-11-02T09:05", "kind": "note", "text": "DBA paged"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    with db.write() as session:
        items = [
            action_items.create_item(
                session, principal=SYSTEM, incident_key=key, description=text,
                owner_user="responder", priority=Priority.P2, due_on=date(2026, 11, 20),
            ).id
            for text in ("alert on pool saturation", "load test the pool")
        ]  # fmt: skip
    meeting = client.post(
        f"/incidents/{key}/pir/review-meeting",
        data={
            "csrf_token": csrf,
            "scheduled_at": "2026-11-05T10:00",
            "attendees": "responder viewer",
            "validated_action_items": f"#{items[0]}, {items[1]}",
            "notes": "agreed",
        },
        follow_redirects=False,
    )
    assert meeting.status_code == 303, meeting.text
    ghost = client.post(
        f"/incidents/{key}/pir/review-meeting",
        data={"csrf_token": csrf, "scheduled_at": "2026-11-05T10:00", "attendees": "ghost"},
    )
    assert ghost.status_code == 422 and "ghost" in ghost.text
    skipped = client.post(
        f"/incidents/{key}/pir/state", data={"csrf_token": csrf, "state": "published"}
    )
    assert skipped.status_code == 409
    for state in ("in_review", "published"):
        moved = client.post(
            f"/incidents/{key}/pir/state",
            data={"csrf_token": csrf, "state": state},
            follow_redirects=False,
        )
        assert moved.status_code == 303
    with db.read() as session:
        found = pirs.get_pir(session, key=key)
    assert found.state.value == "published" and [w.position for w in found.content.whys] == [1, 2]
    assert found.review_meeting is not None and found.review_meeting.validated_action_items == items
    assert found.content.contributing_factors == ["no saturation alert", "old runbook"]
    view = client.get(f"/incidents/{key}/pir")
    assert 'data-testid="pir-report"' in view.text and "Why the pool ran dry?" in view.text
    assert "DBA paged" in view.text and 'data-testid="revisions"' in view.text
    pdf = client.get(f"/incidents/{key}/pir/report?format=md")
    assert pdf.status_code == 200 and "## What went well" in pdf.text
    client.post(f"/incidents/{key}/pir/edit", data=_sections(csrf, went_well="calm comms"))
    old = client.get(f"/incidents/{key}/pir/revisions/1")
    assert old.status_code == 200 and "fast rollback" in old.text and "calm comms" not in old.text
    assert client.get(f"/incidents/{key}/pir/revisions/9").status_code == 404


def test_viewers_read_and_the_list_and_compliance_pages(
    client: TestClient, db: Database, tokens: dict[Role, str], frozen_clock: clock.FrozenClock
) -> None:
    key = resolved_incident(db, frozen_clock)
    with db.write() as session:
        from tests.incidents.helpers import RESPONDER

        pirs.create_pir(session, principal=RESPONDER, key=key)
    other = resolved_incident(db, frozen_clock, title="No review")
    frozen_clock.advance(timedelta(hours=60))
    sign_in(client, "viewer")
    assert 'href="/pirs" title="Review">PIRs</a>' in client.get("/").text
    page = client.get(f"/incidents/{key}/pir")
    assert page.status_code == 200 and 'data-testid="edit-pir"' not in page.text
    assert client.get(f"/incidents/{key}/pir/edit").status_code == 403
    assert client.get("/incidents/INC-2026-999/pir").status_code == 404
    listing = client.get("/pirs")
    assert (
        listing.text.count('data-testid="pir-row"') == 1
        and 'data-testid="pir-overdue"' in listing.text
    )
    assert client.get("/pirs?overdue=no").text.count('data-testid="pir-row"') == 0
    assert client.get("/pirs?state=nope").status_code == 422
    report = client.get("/compliance")
    assert report.status_code == 200 and "out of compliance" in report.text
    assert report.text.count('data-testid="overdue-review"') == 2 and other in report.text
    assert client.get("/compliance?since=forever").status_code == 422
