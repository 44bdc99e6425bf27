"""The dashboard's mechanics are tested on a handful of grants, below the smallest cell
that may be published; small-cell protection has its own tests (test_cells.py), which
set the threshold back."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask


@pytest.fixture(autouse=True)
def every_cell_published(app: Flask, monkeypatch: Any, request: Any) -> None:
    if request.module.__name__.endswith("test_cells"):
        return
    monkeypatch.setitem(app.config, "PUBLICATION_MIN_CELL", 1)
