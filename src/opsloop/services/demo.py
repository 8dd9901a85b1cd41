"""Demo catalog for a first start: the demo SLOs' services owned by two teams, with tiers
and links, and one service nobody has claimed yet, as a real catalog has."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opsloop.core.auth.roles import SYSTEM
from opsloop.services.catalog_files import apply_catalog

CATALOG = """
apiVersion: opsloop.dev/v1
kind: Team
metadata: {name: commerce, displayName: Commerce}
spec:
  description: Checkout, payments and billing
  chatChannel: "#commerce-ops"
  email: commerce@example.com
---
apiVersion: opsloop.dev/v1
kind: Team
metadata: {name: discovery, displayName: Discovery}
spec:
  description: Search and recommendations
  chatChannel: "#discovery-ops"
---
apiVersion: opsloop.dev/v1
kind: Service
metadata: {name: checkout, displayName: Checkout, labels: {language: go}}
spec:
  description: The checkout flow, from basket to order
  owner: commerce
  tier: 1
  lifecycle: production
  links:
    - {name: repository, url: "https://git.example.com/commerce/checkout"}
    - {name: dashboard, url: "https://grafana.example.com/d/checkout"}
    - {name: runbook, url: "https://wiki.example.com/runbooks/checkout"}
---
apiVersion: opsloop.dev/v1
kind: Service
metadata: {name: search, displayName: Search}
spec:
  description: Full-text product search
  owner: discovery
  tier: 2
  lifecycle: production
---
apiVersion: opsloop.dev/v1
kind: Service
metadata: {name: billing, displayName: Billing}
spec:
  description: Nightly invoicing batch
  owner: commerce
  tier: 3
  lifecycle: production
"""


def seed(session: Session) -> None:
    apply_catalog(session, principal=SYSTEM, text=CATALOG, source="demo catalog")
