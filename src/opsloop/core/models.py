"""Imports every domain's tables so that ``metadata`` knows the whole schema (for Alembic's
autogenerate and the schema-drift test). A new domain adds one import line here."""

from __future__ import annotations

from opsloop.core import scheduler as _scheduler
from opsloop.core.audit import models as _audit_models
from opsloop.core.auth import models as _auth_models
from opsloop.core.db import Base
from opsloop.slo import models as _slo_models

metadata = Base.metadata
__all__ = ["_audit_models", "_auth_models", "_scheduler", "_slo_models", "metadata"]
