"""Templates and tranche conditions as the plain rows of a form (the common case: an
"all" of at most one of each kind), and back."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import gettext as _

from ...platform.errors import ValidationFailed
from .conditions import is_group, iter_leaves, normalise_conditions

# The conditions a template row offers as plain fields: the common case, an "all" of at most
# one of each. A template with "any", nesting or repeated kinds is edited as data instead.
ROW_FIELDS = (
    "percent",
    "offset_days",
    "wait_until_due",
    "narrative_report",
    "financial_report",
    "spent_percent",
    "milestone",
    "document",
    "manual",
)


def template_rows(tranches: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """A template as one plain row per tranche, or None when its conditions need the
    data editor (any, nesting, a kind used twice, a fixed date)."""
    rows = []
    for spec in tranches:
        offset = spec.get("offset_days", 0)
        fields = _plain_conditions(spec.get("conditions"), functools.partial(_is_offset, offset))
        if fields is None:
            return None
        rows.append({"percent": spec["percent"], "offset_days": offset, **fields})
    return rows


def _is_offset(offset: object, leaf: Mapping[str, Any]) -> bool:
    return leaf.get("offset_days") == offset


def tranche_row(conditions: Any, due_on: dt.date) -> dict[str, Any] | None:
    """A grant tranche's conditions as the plain fields of one row, or None when they need
    the data editor (any, nesting, a kind used twice, a date other than the due date)."""
    return _plain_conditions(conditions, lambda leaf: leaf.get("date") == due_on.isoformat())


def _plain_conditions(
    tree: Any, is_due: Callable[[Mapping[str, Any]], bool]
) -> dict[str, Any] | None:
    """The plain fields of an all-of tree whose leaves each fit one field; `is_due` tells
    whether a date leaf is "not before the tranche is due"."""
    tree = tree or {"all": []}
    if not isinstance(tree, dict) or set(tree) != {"all"}:
        return None
    row: dict[str, Any] = {
        "wait_until_due": False,
        "narrative_report": None,
        "financial_report": None,
        "spent_percent": None,
        "milestone": "",
        "document": "",
        "manual": False,
    }
    for leaf in tree["all"]:
        if not isinstance(leaf, dict) or is_group(leaf):
            return None
        kind = leaf.get("type")
        if kind == "date_reached":
            if not is_due(leaf) or row["wait_until_due"]:
                return None
            row["wait_until_due"] = True
        elif kind == "report_accepted":
            key = f"{leaf.get('kind')}_report"
            if key not in row or row[key] is not None:
                return None
            row[key] = leaf.get("tranche")
        elif kind == "previous_spent_at_least" and row["spent_percent"] is None:
            row["spent_percent"] = leaf.get("percent")
        elif kind == "milestone_verified" and not row["milestone"]:
            row["milestone"] = leaf.get("label", "")
        elif kind == "document_provided" and not row["document"]:
            row["document"] = leaf.get("kind", "")
        elif kind == "manual_approval" and not row["manual"]:
            row["manual"] = True
        else:
            return None
    return row


def _whole(text: Any, field_name: str, message: str) -> int | None:
    text = str(text if text is not None else "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValidationFailed.single(field_name, message) from None


def template_from_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The template data of the plain rows a fund manager filled in (blank rows skipped);
    validate_template then checks it as it checks data typed by hand."""
    tranches = []
    for number, row in enumerate(rows, start=1):
        percent = _whole(
            row.get("percent"),
            f"tranches-{number - 1}-percent",
            _("Tranche %(n)s: give its share as a whole percentage.", n=number),
        )
        if percent is None:
            continue
        offset = (
            _whole(
                row.get("offset_days"),
                f"tranches-{number - 1}-offset_days",
                _("Tranche %(n)s: give the days after the start as a whole number.", n=number),
            )
            or 0
        )
        leaves = _leaves_from_row(
            row, number - 1, number, {"type": "date_reached", "offset_days": offset}
        )
        tranches.append({"percent": percent, "offset_days": offset, "conditions": {"all": leaves}})
    return tranches


def conditions_from_row(
    row: dict[str, Any], index: int, number: int, due_on: dt.date, previous: Any
) -> dict[str, Any]:
    """A grant tranche's conditions from the plain fields of its row (`index`: the row's
    place in the form, for messages). A condition asked for before, unchanged, keeps its
    id, so a waiver given for it still names it; a changed one (another date, milestone
    or share) is a new condition."""
    leaves = _leaves_from_row(
        row, index, number, {"type": "date_reached", "date": due_on.isoformat()}
    )
    kept = {
        _leaf_content(leaf): leaf["id"]
        for leaf in iter_leaves(previous or {"all": []})
        if isinstance(leaf, dict) and isinstance(leaf.get("id"), str)
    }
    for leaf in leaves:
        if _leaf_content(leaf) in kept:
            leaf["id"] = kept[_leaf_content(leaf)]
    return normalise_conditions({"all": leaves}, tranche_number=number)


def _leaf_content(leaf: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((key, repr(value)) for key, value in leaf.items() if key != "id"))


def _leaves_from_row(
    row: dict[str, Any], index: int, number: int, due_leaf: dict[str, Any]
) -> list[dict[str, Any]]:
    leaves: list[dict[str, Any]] = []
    if row.get("wait_until_due"):
        leaves.append(due_leaf)
    for kind in ("narrative", "financial"):
        covered = _whole(
            row.get(f"{kind}_report"),
            f"tranches-{index}-{kind}_report",
            _("Tranche %(n)s: choose the tranche the report covers.", n=number),
        )
        if covered is not None:
            leaves.append({"type": "report_accepted", "kind": kind, "tranche": covered})
    spent = _whole(
        row.get("spent_percent"),
        f"tranches-{index}-spent_percent",
        _("Tranche %(n)s: give the share spent as a whole percentage.", n=number),
    )
    if spent is not None:
        leaves.append({"type": "previous_spent_at_least", "percent": spent})
    if (row.get("milestone") or "").strip():
        leaves.append({"type": "milestone_verified", "label": row["milestone"].strip()})
    if (row.get("document") or "").strip():
        leaves.append({"type": "document_provided", "kind": row["document"].strip()})
    if row.get("manual"):
        leaves.append({"type": "manual_approval"})
    return leaves
