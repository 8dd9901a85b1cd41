"""Layering rules that reviews would otherwise have to catch by eye.

``core`` is what every domain builds on, so it must not import any of them: not at module level,
not inside a function, not through a relative import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import opsloop

PACKAGE = Path(opsloop.__file__).parent
CORE = PACKAGE / "core"
# Everything at the top of the package except core: the domains and what sits above them.
ABOVE_CORE = frozenset(
    path.name.removesuffix(".py")
    for path in PACKAGE.iterdir()
    if path.suffix == ".py" or (path / "__init__.py").exists()
) - {"core", "__init__"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module ``source`` (the text of ``module``) imports, with relative imports resolved.

    ``from a import b`` yields both ``a`` and ``a.b``, since ``b`` may be a submodule.
    """
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def domain_imports(modules: set[str]) -> list[str]:
    return sorted(
        name for name in modules if name.startswith("opsloop.") and name.split(".")[1] in ABOVE_CORE
    )


def test_the_checker_sees_every_kind_of_import() -> None:
    source = (
        "import opsloop.slo.models\n"
        "from opsloop import web\n"
        "def later():\n"
        "    from ...slo import service\n"
        "from opsloop import __version__\n"
        "from opsloop.core.db import Base\n"
    )
    modules = imported_modules(source, "opsloop.core.auth.service")
    assert domain_imports(modules) == [
        "opsloop.slo",
        "opsloop.slo.models",
        "opsloop.slo.service",
        "opsloop.web",
    ]


def test_core_imports_no_domain() -> None:
    assert {"slo", "web", "app", "cli", "models"} <= ABOVE_CORE
    offenders = {}
    for path in sorted(CORE.rglob("*.py")):
        modules = imported_modules(
            path.read_text(), _module_name(path), is_package=path.name == "__init__.py"
        )
        if found := domain_imports(modules):
            offenders[str(path.relative_to(PACKAGE))] = found
    assert offenders == {}
