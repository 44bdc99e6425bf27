"""platform is what capabilities build on: it never imports one of them (a capability adds
its own Jinja globals in its package's init_app)."""

from __future__ import annotations

import ast
from pathlib import Path

from flask import Flask

from grantpool import CAPABILITIES

PLATFORM = Path(__file__).resolve().parents[2] / "grantpool" / "platform"


def _imported_modules(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            prefix = "." * node.level
            names.append(prefix + (node.module or ""))
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


def test_platform_never_imports_a_capability() -> None:
    found = []
    for path in sorted(PLATFORM.rglob("*.py")):
        for name in _imported_modules(path):
            parts = name.lstrip(".").split(".")
            absolute = name.startswith("grantpool.")
            parent = name.startswith("..") and not name.startswith("...")
            head = parts[1] if absolute and len(parts) > 1 else parts[0]
            if (absolute or parent) and head in CAPABILITIES:
                found.append(f"{path.name}: {name}")
    assert found == []


def test_the_capabilities_templates_still_have_their_words(app: Flask) -> None:
    assert "role_labels" in app.jinja_env.globals
    assert "org_type_labels" in app.jinja_env.globals
    assert "country_name" in app.jinja_env.filters


def _capability_imports() -> dict[str, set[str]]:
    """Which capability imports which, at run time (imports under TYPE_CHECKING are for
    annotations only and run nothing)."""
    package = PLATFORM.parent
    edges: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package).parts
        if len(parts) < 2 or parts[0] not in CAPABILITIES:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for inner in ast.walk(node)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or id(node) in typing_only:
                continue
            if node.level == 0:
                names = (node.module or "").split(".")
                head = names[1] if names[0] == "grantpool" and len(names) > 1 else ""
            else:
                base = list(parts[:-1])[: len(parts) - node.level]
                head = (base + (node.module or "").split("."))[0] if base or node.module else ""
            if head in CAPABILITIES and head != parts[0]:
                edges.setdefault(parts[0], set()).add(head)
    return edges


def test_no_two_capabilities_import_each_other_even_through_others() -> None:
    edges = _capability_imports()
    assert edges, "the walk found no imports at all"

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for step in edges.get(start, ()):
            if step == goal or (step not in seen and reaches(step, goal, seen | {step})):
                return True
        return False

    cycles = sorted(name for name in edges if reaches(name, name, {name}))
    assert cycles == []
