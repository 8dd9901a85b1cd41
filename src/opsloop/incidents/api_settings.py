"""Per-service incident settings: whether a service's SLO page alerts declare incidents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import ConfigDict, StrictBool

from opsloop.core.deps import ReadSession, Responder, Viewer, WriteSession
from opsloop.core.schemas import AUTHENTICATED, WITH_BODY, Schema, errors, plain_params
from opsloop.incidents import from_slos
from opsloop.slo.schemas import DNS_LABEL

router = APIRouter(
    prefix="/api/v1",
    tags=["Incidents"],
    responses=AUTHENTICATED,
    dependencies=[Depends(plain_params)],
)
ServicePath = Annotated[str, Path(max_length=63, pattern=DNS_LABEL)]


class AutoDeclareIn(Schema):
    model_config = ConfigDict(extra="forbid")
    #: True or false to decide for the service; null to follow its tier (tier 1: on).
    auto_declare: StrictBool | None


class AutoDeclareOut(Schema):
    service: str
    auto_declare: bool
    tier_default: bool
    overridden: bool

    @classmethod
    def of(cls, state: from_slos.AutoDeclareState) -> AutoDeclareOut:
        return cls(
            service=state.service,
            auto_declare=state.enabled,
            tier_default=state.default,
            overridden=state.overridden,
        )


@router.get("/incident-settings/{service}", response_model=AutoDeclareOut, responses=errors(422))
def get_settings(service: ServicePath, _: Viewer, session: ReadSession) -> AutoDeclareOut:
    """Whether the service's SLO page alerts declare a SEV2 by themselves."""
    return AutoDeclareOut.of(from_slos.auto_declare_state(session, service=service))


@router.put(
    "/incident-settings/{service}",
    response_model=AutoDeclareOut,
    responses={**WITH_BODY, **errors(422)},
)
def put_settings(
    service: ServicePath, body: AutoDeclareIn, principal: Responder, session: WriteSession
) -> AutoDeclareOut:
    state = from_slos.set_auto_declare(
        session, principal=principal, service=service, enabled=body.auto_declare
    )
    return AutoDeclareOut.of(state)
