"""Review writes from the browser: start a review, edit its sections and whys chain, add or
remove timeline entries, move its state, schedule its meeting. Each form needs the API
route's role and calls the same service; a refusal re-renders the page with the message."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opsloop.core.auth.sessions import ActiveSession
from opsloop.core.errors import OpsloopError, ValidationFailed
from opsloop.pirs import service as pirs
from opsloop.pirs.deps import PolicyDep
from opsloop.pirs.rules import next_states, parse_state
from opsloop.pirs.web_context import render_pir
from opsloop.web.routes import DB, form_error, render, signed_in_as, writing_as

router = APIRouter(include_in_schema=False)
Page = Annotated[ActiveSession, Depends(signed_in_as(pirs.WRITE_ROLE))]
Writer = Annotated[ActiveSession, Depends(writing_as(pirs.WRITE_ROLE))]
#: Blank steps offered under the chain, for the next whys.
BLANK_WHYS = 2


def form_time(text: str, field: str) -> datetime | None:
    """A datetime-local value (UTC) or ISO 8601 text; blank is None."""
    if not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed(f"{field}: not a date and time", field=field) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _path(key: str, tail: str = "") -> str:
    return f"/incidents/{key.strip().upper()}/pir{tail}"


def _editor(
    request: Request,
    db: DB,
    active: ActiveSession,
    key: str,
    policy: Any,
    failed: OpsloopError | None = None,
) -> Response:
    with db.read() as session:
        found = pirs.get_pir(session, key=key, policy=policy)
    return render(
        request,
        "pir_edit.html",
        active,
        failed.status if failed else 200,
        pir=found,
        blank_whys=BLANK_WHYS,
        moves=next_states(found.state),
        **(form_error(failed) if failed else {}),
    )


@router.post("/incidents/{key}/pir", response_class=HTMLResponse)
def start_review(request: Request, key: str, db: DB, active: Writer, policy: PolicyDep) -> Response:
    try:
        with db.write() as session:
            pirs.create_pir(session, principal=active.principal, key=key, policy=policy)
    except OpsloopError as exc:
        if exc.status == 404:
            raise
        return render_pir(request, db, active, key, policy, failed=exc)
    return RedirectResponse(_path(key, "/edit"), status_code=303)


@router.get("/incidents/{key}/pir/edit", response_class=HTMLResponse)
def edit_page(request: Request, key: str, db: DB, active: Page, policy: PolicyDep) -> Response:
    return _editor(request, db, active, key, policy)


def _whys(posted: Any) -> list[dict[str, Any]]:
    steps = []
    index = 0
    while f"why_answer_{index}" in posted or f"why_question_{index}" in posted:
        question = str(posted.get(f"why_question_{index}", ""))
        answer = str(posted.get(f"why_answer_{index}", ""))
        if question.strip() or answer.strip():
            steps.append({"question": question, "answer": answer})
        index += 1
    return steps


def _users(text: str) -> int | None:
    if not text.strip():
        return None
    if not text.strip().isdigit():
        raise ValidationFailed(
            "impact.users_affected: a whole number", field="impact.users_affected"
        )
    return int(text.strip())


@router.post("/incidents/{key}/pir/edit", response_class=HTMLResponse)
async def save_sections(
    request: Request, key: str, db: DB, active: Writer, policy: PolicyDep
) -> Response:
    posted = await request.form()
    text = {name: str(posted.get(name, "")).replace("\r\n", "\n") for name in posted}
    try:
        changes = {
            "summary": text.get("summary", ""),
            "impact": {
                "users_affected": _users(text.get("users_affected", "")),
                "revenue": text.get("revenue", ""),
                "description": text.get("impact_description", ""),
            },
            "root_cause": text.get("root_cause", ""),
            "whys": _whys(text),
            "contributing_factors": lines(text.get("contributing_factors", "")),
            "went_well": text.get("went_well", ""),
            "went_poorly": text.get("went_poorly", ""),
            "lessons_learned": text.get("lessons_learned", ""),
        }
        with db.write() as session:
            pirs.update_pir(
                session, principal=active.principal, key=key, changes=changes, policy=policy
            )
    except OpsloopError as exc:
        return _editor(request, db, active, key, policy, exc)
    return RedirectResponse(_path(key, "/edit"), status_code=303)


@router.post("/incidents/{key}/pir/timeline", response_class=HTMLResponse)
async def add_entry(
    request: Request, key: str, db: DB, active: Writer, policy: PolicyDep
) -> Response:
    posted = await request.form()
    try:
        at = form_time(str(posted.get("at", "")), "at")
        with db.write() as session:
            pirs.add_timeline_entry(
                session,
                principal=active.principal,
                key=key,
                text=str(posted.get("text", "")),
                at=at,
                kind=str(posted.get("kind", "note")) or "note",
                policy=policy,
            )
    except OpsloopError as exc:
        return _editor(request, db, active, key, policy, exc)
    return RedirectResponse(_path(key, "/edit"), status_code=303)


@router.post("/incidents/{key}/pir/timeline/remove", response_class=HTMLResponse)
async def remove_entry(
    request: Request, key: str, db: DB, active: Writer, policy: PolicyDep
) -> Response:
    posted = await request.form()
    try:
        index = int(str(posted.get("index", "")))
    except ValueError:
        index = -1
    try:
        with db.write() as session:
            current = pirs.get_pir(session, key=key, policy=policy).content.model_dump(mode="json")
            if not 0 <= index < len(current["timeline"]):
                raise ValidationFailed("index: no such timeline entry", field="index")
            del current["timeline"][index]
            pirs.update_pir(
                session,
                principal=active.principal,
                key=key,
                changes={"timeline": current["timeline"]},
                policy=policy,
            )
    except OpsloopError as exc:
        return _editor(request, db, active, key, policy, exc)
    return RedirectResponse(_path(key, "/edit"), status_code=303)


@router.post("/incidents/{key}/pir/state", response_class=HTMLResponse)
async def move(request: Request, key: str, db: DB, active: Writer, policy: PolicyDep) -> Response:
    posted = await request.form()
    try:
        state = parse_state(str(posted.get("state", "")))
        with db.write() as session:
            pirs.move_pir(session, principal=active.principal, key=key, state=state, policy=policy)
    except OpsloopError as exc:
        return _editor(request, db, active, key, policy, exc)
    return RedirectResponse(_path(key), status_code=303)


@router.post("/incidents/{key}/pir/review-meeting", response_class=HTMLResponse)
async def meeting(
    request: Request, key: str, db: DB, active: Writer, policy: PolicyDep
) -> Response:
    posted = await request.form()
    try:
        at = form_time(str(posted.get("scheduled_at", "")), "review_meeting.scheduled_at")
        if at is None:
            raise ValidationFailed(
                "review_meeting.scheduled_at: when is it?", field="review_meeting.scheduled_at"
            )
        ids = []
        for part in str(posted.get("validated_action_items", "")).replace(",", " ").split():
            if not part.lstrip("#").isdigit():
                field = "review_meeting.validated_action_items"
                raise ValidationFailed(f"{field}: {part!r} is not an item number", field=field)
            ids.append(int(part.lstrip("#")))
        with db.write() as session:
            pirs.schedule_review(
                session,
                principal=active.principal,
                key=key,
                meeting={
                    "scheduled_at": at.isoformat(),
                    "attendees": [
                        a.strip()
                        for a in str(posted.get("attendees", "")).replace(",", " ").split()
                    ],
                    "notes": str(posted.get("notes", "")).replace("\r\n", "\n"),
                    "validated_action_items": ids,
                },
                policy=policy,
            )
    except OpsloopError as exc:
        return _editor(request, db, active, key, policy, exc)
    return RedirectResponse(_path(key, "/edit"), status_code=303)
