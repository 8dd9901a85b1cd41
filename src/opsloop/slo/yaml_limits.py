"""Limits on YAML that arrives from outside, checked before any of it is built."""

from __future__ import annotations

from collections.abc import Iterator

import yaml

#: Real specs nest fewer than 10 levels; PyYAML builds nodes recursively and would run out of
#: stack (RecursionError) on a document nested thousands deep.
MAX_DEPTH = 64

_OPENS = (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken)
_FLOW_OPENS = (yaml.FlowMappingStartToken, yaml.FlowSequenceStartToken)
_CLOSES = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)


def nesting_problem(text: str, limit: int = MAX_DEPTH) -> str | None:
    """Why ``text`` nests too deeply, or None; the scanner works without recursion."""
    # libyaml's scanner first where PyYAML has it: the same tokens, ten times faster, which
    # matters where every stored spec is read again (the first evaluation of a thousand SLOs
    # after a start). It gives up on some deep nesting by itself (an error, not a depth), so
    # any error is looked at again by the pure-Python scanner.
    if getattr(yaml, "__with_libyaml__", False):
        try:
            return _too_deep(yaml.scan(text, Loader=yaml.CSafeLoader), limit)
        except yaml.YAMLError:
            pass
    try:
        return _too_deep(yaml.scan(text, Loader=yaml.SafeLoader), limit)
    except yaml.YAMLError:
        return None  # the loader reports syntax errors with their position


def _too_deep(tokens: Iterator[yaml.Token], limit: int) -> str | None:
    depth = 0
    for token in tokens:
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
    return None
