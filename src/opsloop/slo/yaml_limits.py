"""Limits on YAML that arrives from outside, checked before any of it is built."""

from __future__ import annotations

import yaml

#: Real specs nest fewer than 10 levels; PyYAML builds nodes recursively and would run out of
#: stack (RecursionError) on a document nested thousands deep.
MAX_DEPTH = 64

_OPENS = (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken)
_FLOW_OPENS = (yaml.FlowMappingStartToken, yaml.FlowSequenceStartToken)
_CLOSES = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)


def nesting_problem(text: str, limit: int = MAX_DEPTH) -> str | None:
    """Why ``text`` nests too deeply, or None; the scanner works without recursion."""
    depth = 0
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, _OPENS + _FLOW_OPENS):
                depth += 1
                if depth > limit:
                    mark = token.start_mark
                    return (
                        f"line {mark.line + 1}, column {mark.column + 1}: "
                        f"nested deeper than {limit} levels"
                    )
            elif isinstance(token, _CLOSES):
                depth -= 1
    except yaml.YAMLError:
        return None  # the loader reports syntax errors with their position
    return None
