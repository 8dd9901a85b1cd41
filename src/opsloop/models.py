"""Every table opsloop has, so that ``metadata`` knows the whole schema (for Alembic's
autogenerate and the schema-drift test).

It sits above ``core`` and the domains because it imports all of them; ``core`` itself imports
no domain. A new domain adds one import line here.
"""

from __future__ import annotations

from opsloop.actions import models as _action_models
from opsloop.alerts import models as _alert_models
from opsloop.alerts import routing_models as _alert_routing_models
from opsloop.changes import models as _change_models
from opsloop.changes import verification_models as _change_verification_models
from opsloop.core import generations as _generations
from opsloop.core import scheduler_models as _scheduler_models
from opsloop.core.audit import models as _audit_models
from opsloop.core.auth import models as _auth_models
from opsloop.core.db import Base
from opsloop.incidents import models as _incidents_models
from opsloop.notifications import models as _notification_models
from opsloop.pirs import models as _pir_models
from opsloop.services import models as _services_models
from opsloop.slo import models as _slo_models

metadata = Base.metadata
__all__ = [
    "_action_models",
    "_alert_models",
    "_alert_routing_models",
    "_audit_models",
    "_auth_models",
    "_change_models",
    "_change_verification_models",
    "_generations",
    "_incidents_models",
    "_notification_models",
    "_pir_models",
    "_scheduler_models",
    "_services_models",
    "_slo_models",
    "metadata",
]
