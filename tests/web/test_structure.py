"""The pages follow the project's data flow: pages call services, never API modules or tables."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[2] / "src" / "opsloop"
PAGE_MODULES = [
    *sorted((SRC / "web").glob("*.py")),
    *sorted((SRC / "slo").glob("web*.py")),
    *sorted((SRC / "services").glob("web*.py")),
]


def _imports(path: Path) -> set[str]:
    """Modules imported at run time (names imported only for type hints do not count)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            node.body = []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_pages_import_no_api_module_and_no_tables() -> None:
    assert len(PAGE_MODULES) > 8
    for path in PAGE_MODULES:
        imports = _imports(path)
        bad = {m for m in imports if m.endswith((".api", ".models")) or m.startswith("sqlalchemy")}
        bad.discard("sqlalchemy.orm")  # type hints of the session handed to services
        assert not bad, f"{path.name} imports {bad}"


def test_the_slo_pages_live_in_the_slo_domain() -> None:
    assert not (SRC / "web" / "slo_pages.py").exists()
    assert (SRC / "slo" / "templates" / "slo_detail.html").exists()
    assert not list((SRC / "web" / "templates").glob("slo_*.html"))
