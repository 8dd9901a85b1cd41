"""Every event type the domains announce, known wherever subscriptions are checked.

Each domain registers its types with the notification outbox when the module that announces
them is imported. The app imports every domain, but a CLI group runs on its own (`opsloop notify
subscribe` imports only the notification commands), so this module imports the announcing
modules in one place, as opsloop.models does for tables. A domain that announces adds a line.
"""

from __future__ import annotations

from opsloop.actions import announcing as _actions
from opsloop.alerts import service as _alerts
from opsloop.changes import announcing as _changes
from opsloop.changes import verification_events as _change_verification
from opsloop.incidents import announcing as _incidents
from opsloop.pirs import announcing as _pirs
from opsloop.slo import service as _slo

__all__ = ["_actions", "_alerts", "_change_verification", "_changes", "_incidents", "_pirs", "_slo"]
