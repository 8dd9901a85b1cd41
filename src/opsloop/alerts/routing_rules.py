"""Routing rules: which alerts declare an incident, or join the service's open one.

Rules are tried in order (``position``, then id). The first rule whose matchers all match an
alert decides for it, unless that rule has ``continue`` on and did not put the alert in an
incident (an ``attach`` rule finding nothing open, without falling back to declare): then the
next rules are tried. An alert no rule matches stays without an incident.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from opsloop.alerts.matchers import Matcher, matches_all, parse_matchers
from opsloop.alerts.models import Alert
from opsloop.alerts.routing_models import RouteRule
from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.auth.service import require
from opsloop.core.errors import NotFound, ValidationFailed
from opsloop.core.schemas import MAX_ID
from opsloop.incidents.rules import Severity, parse_severity

#: Who adds and deletes rules: the role that changes the incident settings.
WRITE_ROLE = Role.responder
MAX_RULES = 200
MAX_NAME = 100
ENTITY = "alert_route"


class RouteAction(StrEnum):
    declare = "declare"
    attach = "attach"


@dataclass(frozen=True)
class RuleView:
    id: int
    position: int
    name: str
    matchers: tuple[Matcher, ...]
    action: RouteAction
    severity: Severity
    fallback_declare: bool
    continue_matching: bool
    created_by: str

    @property
    def matcher_text(self) -> str:
        return "{" + ", ".join(str(m) for m in self.matchers) + "}"

    @property
    def may_declare(self) -> bool:
        return self.action == RouteAction.declare or self.fallback_declare

    def fields(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "name": self.name,
            "matchers": self.matcher_text,
            "action": self.action.value,
            "severity": self.severity.value,
            "fallback_declare": self.fallback_declare,
            "continue": self.continue_matching,
        }


def _view(row: RouteRule) -> RuleView:
    return RuleView(
        id=row.id,
        position=row.position,
        name=row.name,
        matchers=tuple(parse_matchers(row.matchers)),
        action=RouteAction(row.action),
        severity=Severity(row.severity),
        fallback_declare=row.fallback_declare,
        continue_matching=row.continue_matching,
        created_by=row.created_by,
    )


def list_rules(session: Session) -> list[RuleView]:
    rows = session.scalars(select(RouteRule).order_by(RouteRule.position, RouteRule.id))
    return [_view(row) for row in rows]


def _row(session: Session, rule_id: int) -> RouteRule:
    found = session.get(RouteRule, rule_id) if 0 < rule_id <= MAX_ID else None
    if found is None:
        raise NotFound(f"no routing rule {rule_id}", field="rule")
    return found


def get_rule(session: Session, *, rule_id: int) -> RuleView:
    return _view(_row(session, rule_id))


@dataclass(frozen=True)
class _Checked:
    matchers: str
    action: RouteAction
    severity: Severity
    name: str


def _checked(
    matchers: str, action: str, severity: str, name: str, fallback_declare: bool
) -> _Checked:
    parsed = parse_matchers(matchers, where="matchers")
    try:
        chosen = RouteAction(action.strip().lower())
    except ValueError:
        raise ValidationFailed("action: declare or attach", field="action") from None
    level = parse_severity(severity)
    if chosen == RouteAction.declare and fallback_declare:
        raise ValidationFailed(
            "fallback_declare: only for attach rules (a declare rule always declares)",
            field="fallback_declare",
        )
    name = name.strip()
    if len(name) > MAX_NAME or any(not c.isprintable() for c in name):
        raise ValidationFailed(f"name: at most {MAX_NAME} printable characters", field="name")
    return _Checked(", ".join(str(m) for m in parsed), chosen, level, name)


def _ordered(session: Session) -> list[RouteRule]:
    return list(session.scalars(select(RouteRule).order_by(RouteRule.position, RouteRule.id)))


def _place(rows: list[RouteRule], row: RouteRule, position: int | None) -> None:
    """Put ``row`` at ``position`` (1 = first; None: last) and number every rule again."""
    others = [r for r in rows if r is not row]
    if position is not None and not 1 <= position <= len(others) + 1:
        raise ValidationFailed(f"position: from 1 to {len(others) + 1}", field="position")
    others.insert(len(others) if position is None else position - 1, row)
    for index, each in enumerate(others, start=1):
        each.position = index


def add_rule(
    session: Session,
    *,
    principal: Principal,
    matchers: str,
    action: str,
    severity: str = "SEV3",
    name: str = "",
    fallback_declare: bool = False,
    continue_matching: bool = False,
    position: int | None = None,
) -> RuleView:
    """A new rule, last unless ``position`` (1 = first) puts it before others."""
    require(principal, WRITE_ROLE)
    checked = _checked(matchers, action, severity, name, fallback_declare)
    rows = _ordered(session)
    if len(rows) >= MAX_RULES:
        raise ValidationFailed(f"rules: at most {MAX_RULES}", field="matchers")
    row = RouteRule(
        position=0,
        name=checked.name,
        matchers=checked.matchers,
        action=checked.action.value,
        severity=checked.severity.value,
        fallback_declare=fallback_declare,
        continue_matching=continue_matching,
        created_by=principal.actor,
        created_at=clock.now(),
    )
    if not rows:
        # Without rules nothing routes, and the router leaves arriving alerts alone (at
        # thousands a second, marking each one routed to nothing would compete with the
        # webhook for writes). The first rule starts from now: what arrived before it counts
        # as routed to nothing, as the alerts stored before routing existed did.
        session.execute(
            update(Alert).where(Alert.routed_at.is_(None)).values(routed_at=clock.now())
        )
    _place(rows, row, position)
    session.add(row)
    session.flush()
    found = _view(row)
    audit.record(
        session,
        principal=principal,
        action="alert.route.add",
        entity_type=ENTITY,
        entity_id=row.id,
        after=found.fields(),
    )
    return found


EDITABLE = frozenset(
    {"matchers", "action", "severity", "name", "fallback_declare", "continue", "position"}
)


def update_rule(
    session: Session, *, principal: Principal, rule_id: int, changes: Mapping[str, Any]
) -> RuleView:
    """Change a rule in place (``changes`` by the names of :meth:`RuleView.fields`). It keeps
    its id, so the incidents it declared keep collecting their causes' alerts."""
    require(principal, WRITE_ROLE)
    for key in changes:
        if key not in EDITABLE:
            raise ValidationFailed(f"{key}: not a field of a routing rule", field=key)
    row = _row(session, rule_id)
    before = _view(row).fields()
    merged = {**before, **{k: v for k, v in changes.items() if v is not None}}
    fallback = bool(merged["fallback_declare"])
    checked = _checked(
        str(merged["matchers"]),
        str(merged["action"]),
        str(merged["severity"]),
        str(merged["name"]),
        fallback,
    )
    row.matchers, row.action, row.severity = (
        checked.matchers,
        checked.action.value,
        checked.severity.value,
    )
    row.name, row.fallback_declare = checked.name, fallback
    row.continue_matching = bool(merged["continue"])
    if changes.get("position") is not None:
        _place(_ordered(session), row, int(changes["position"]))
    session.flush()
    found = _view(row)
    if found.fields() != before:
        audit.record(
            session,
            principal=principal,
            action="alert.route.update",
            entity_type=ENTITY,
            entity_id=row.id,
            before=before,
            after=found.fields(),
        )
    return found


def delete_rule(session: Session, *, principal: Principal, rule_id: int) -> RuleView:
    """Remove a rule; alerts it routed keep their incident."""
    require(principal, WRITE_ROLE)
    row = _row(session, rule_id)
    found = _view(row)
    session.delete(row)
    session.flush()
    audit.record(
        session,
        principal=principal,
        action="alert.route.delete",
        entity_type=ENTITY,
        entity_id=rule_id,
        before=found.fields(),
    )
    return found


def count_rules(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(RouteRule)) or 0)


def matching(rules: Sequence[RuleView], labels: Mapping[str, str]) -> list[RuleView]:
    """The rules that would be tried for these labels, in order: every matching rule up to and
    including the first one without ``continue``."""
    found = []
    for rule in rules:
        if matches_all(rule.matchers, labels):
            found.append(rule)
            if not rule.continue_matching:
                break
    return found


def parse_labels(text: str, *, where: str = "labels") -> dict[str, str]:
    """``a=1,b=2`` or ``{a="1", b="2"}``: a label set (equality only) for ``route test``."""
    labels: dict[str, str] = {}
    for matcher in parse_matchers(text, where=where):
        if matcher.op != "=":
            raise ValidationFailed(f"{where}: give labels as name=value", field=where)
        labels[matcher.name] = matcher.value
    return labels
