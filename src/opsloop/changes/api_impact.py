"""Impact assessment and verification under /api/v1/changes: assess a planned change to a
service (or an existing change), and verify a completed one against its service's SLIs."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from opsloop.changes import assessment, silencing, verification
from opsloop.changes.deps import Policy
from opsloop.changes.impact_schemas import AssessmentOut, SilenceIn, SilenceOut, VerificationOut
from opsloop.changes.jobs import verify_rules
from opsloop.core.deps import ReadSession, Responder, Viewer, WriteSession
from opsloop.core.schemas import AUTHENTICATED, PLAIN_PATTERN, Timestamp, errors, plain_params
from opsloop.slo.deps import prometheus_client

router = APIRouter(
    prefix="/api/v1",
    tags=["Changes"],
    responses=AUTHENTICATED,
    dependencies=[Depends(plain_params)],
)
KeyPath = Annotated[str, Path(max_length=16, pattern=PLAIN_PATTERN, description="CR-YYYY-NNN")]


@router.get("/changes/assess", response_model=AssessmentOut, responses=errors(422))
def assess(
    _: Viewer,
    session: ReadSession,
    policy: Policy,
    service: Annotated[str, Query(max_length=63, pattern=PLAIN_PATTERN)],
    start: Annotated[Timestamp | None, Query(description="window start; default now")] = None,
    duration: Annotated[
        int | None, Query(ge=1, le=7 * 24 * 60, description="minutes; default 60")
    ] = None,
    category: Annotated[str | None, Query(max_length=32, pattern=PLAIN_PATTERN)] = None,
) -> AssessmentOut:
    """What changing the service in the window would run into, and the suggested risk."""
    found = assessment.assess(
        session,
        service=service,
        start=start,
        duration=timedelta(minutes=duration) if duration else None,
        category=category,
        policy=policy,
    )
    return AssessmentOut.of(found)


@router.get("/changes/{key}/assessment", response_model=AssessmentOut, responses=errors(404))
def assess_change(key: KeyPath, _: Viewer, session: ReadSession, policy: Policy) -> AssessmentOut:
    """The assessment of an existing change, its window and category."""
    return AssessmentOut.of(assessment.assess_change(session, key=key, policy=policy))


@router.get("/changes/{key}/verification", response_model=VerificationOut, responses=errors(404))
def get_verification(key: KeyPath, _: Viewer, session: ReadSession) -> VerificationOut:
    """The latest verification of the change (verdict null while never verified)."""
    return VerificationOut.of(verification.verification_of(session, key=key))


@router.post("/changes/{key}/verify", response_model=VerificationOut, responses=errors(404, 409))
def verify(
    key: KeyPath, request: Request, principal: Responder, session: WriteSession
) -> VerificationOut:
    """Compare the service's SLIs in the hour before the window with the hour after the change
    finished; a failure proposes a rollback."""
    found = verification.verify(
        session,
        principal=principal,
        key=key,
        prometheus=prometheus_client(request),
        rules=verify_rules(request.app.state.settings),
    )
    return VerificationOut.of(found)


@router.get("/changes/{key}/silence", response_model=SilenceOut, responses=errors(404))
def get_silence(key: KeyPath, _: Viewer, session: ReadSession) -> SilenceOut:
    """Whether the change silences its service's alerts while it runs, with which matchers,
    and the silence made at its start."""
    return SilenceOut.of(silencing.settings_of(session, key=key))


@router.put("/changes/{key}/silence", response_model=SilenceOut, responses=errors(404, 409, 422))
def set_silence(
    key: KeyPath, body: SilenceIn, principal: Responder, session: WriteSession
) -> SilenceOut:
    """Ask for an Alertmanager silence for the change's window (made when it starts, expired
    when it finishes); before it starts."""
    found = silencing.set_silence(
        session,
        principal=principal,
        key=key,
        enabled=body.silence_alerts,
        matchers=body.matchers,
    )
    return SilenceOut.of(found)
