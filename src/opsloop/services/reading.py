"""Reading one document of a catalog file: its fields, and its problems located as
``document N (Kind name): path: reason``. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from opsloop.slo.spec.checks import SpecProblem, join_path
from opsloop.slo.spec.yaml_io import Reader


class DocumentReader(Reader):
    """The SLO specs' :class:`Reader` (same messages), with the document it reads."""

    def __init__(self, index: int, document: object) -> None:
        super().__init__([])
        self.index = index
        self.body: dict[str, Any] | None = None
        if isinstance(document, dict) and all(isinstance(key, str) for key in document):
            self.body = document
        else:
            self.fail("", "expected a mapping with apiVersion, kind and metadata")
        body = self.body or {}
        meta = body.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        api_version, kind = body.get("apiVersion"), body.get("kind")
        self.api_version: str = api_version if isinstance(api_version, str) else ""
        self.kind: str = kind if isinstance(kind, str) else ""
        what = f"{self.kind} {name}" if isinstance(name, str) and name else self.kind
        self.label = f"document {index + 1}" + (f" ({what})" if what else "")

    @property
    def failed(self) -> bool:
        return bool(self.problems)

    def located(self) -> list[tuple[str, str, str]]:
        return [(self.label, p.path, p.reason) for p in self.problems]

    def only(self, allowed: Collection[str]) -> None:
        """Refuse top-level fields outside ``allowed`` (opsloop's own format is strict)."""
        self.mapping(self.body or {}, "", allowed)

    def section(
        self, key: str, allowed: Collection[str] | None, *, required: bool
    ) -> dict[str, Any]:
        """A top-level mapping such as ``metadata`` or ``spec`` ({} when absent)."""
        value = (self.body or {}).get(key)
        if value is None:
            if required:
                self.fail(key, "missing")
            return {}
        return self.mapping(value, key, allowed) or {}

    def whole_number(self, data: dict[str, Any], key: str, path: str) -> int | None:
        value = data.get(key)
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        self.fail(join_path(path, key), "expected a whole number")
        return None

    def names(self, data: dict[str, Any], key: str, path: str) -> list[str]:
        """A list of strings (other items are reported)."""
        found = []
        for index, item in enumerate(self.items(data, key, path, False)):
            if isinstance(item, str) and item:
                found.append(item)
            else:
                self.fail(join_path(join_path(path, key), index), "expected a string")
        return found

    def note(self, path: str, reason: str) -> str:
        """A value that is kept out without refusing the file, said the way problems are."""
        return str(SpecProblem(f"{self.label}: {path}", reason))
