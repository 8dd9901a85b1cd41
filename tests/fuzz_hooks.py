"""Schemathesis hooks for tests/test_api_fuzz.py (loaded through SCHEMATHESIS_HOOKS)."""

from __future__ import annotations

from typing import Any

import schemathesis
import yaml
from schemathesis.core import media_types

# /slos/export answers one YAML document per SLO, as OpenSLO and Sloth files are written;
# schemathesis's own YAML reader takes a single document and crashes its worker on more.


@schemathesis.deserializer(*media_types.YAML_MEDIA_TYPES)
def multi_document_yaml(_ctx: Any, response: Any) -> Any:
    documents = list(yaml.safe_load_all(response.content.decode(response.encoding or "utf-8")))
    return documents[0] if len(documents) == 1 else documents
