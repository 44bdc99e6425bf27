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
