"""The condition tree of a tranche, checked, evaluated against the facts and explained.

Nothing here touches the database or the request. Conditions are data (JSON):

    {"all": [leaf_or_group, ...]}  or  {"any": [...]}

over leaves, each with a stable "id" (so a waiver names the condition it waives):

    {"type": "date_reached", "date": "2026-03-12"}
    {"type": "report_accepted", "kind": "narrative" | "financial", "tranche": 1}
    {"type": "milestone_verified", "label": "Water committee formed"}
    {"type": "document_provided", "kind": "bank letter"}
    {"type": "previous_spent_at_least", "percent": 70}
    {"type": "manual_approval"}

Whether a tranche may be released ("eligible") is never stored: `evaluate` computes it
from the conditions and the facts each time, and `explain` says it in plain words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from flask_babel import gettext as _

from ...platform.errors import ValidationFailed
from .states import ReportKind

LEAF_TYPES = (
    "date_reached",
    "report_accepted",
    "milestone_verified",
    "document_provided",
    "previous_spent_at_least",
    "manual_approval",
)
MAX_DEPTH = 4


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed.single("conditions", message)


def normalise_conditions(tree: Any, *, tranche_number: int | None = None) -> dict[str, Any]:
    """Check a condition tree and return a clean copy in which every leaf has an id.

    Raises ValidationFailed (field "conditions") with a plain reason when it is not valid.
    An empty tree ({"all": []}) means "no conditions".
    """
    used: set[str] = set()
    for leaf in iter_leaves(tree) if is_group(tree) else []:
        if isinstance(leaf, dict) and isinstance(leaf.get("id"), str):
            used.add(leaf["id"])
    counter = [0]

    def next_id() -> str:
        while True:
            counter[0] += 1
            candidate = f"c{counter[0]}"
            if candidate not in used:
                used.add(candidate)
                return candidate

    seen: set[str] = set()

    def clean(node: Any, depth: int) -> dict[str, Any]:
        if depth > MAX_DEPTH:
            raise _invalid(_("Conditions are nested too deeply."))
        if not isinstance(node, dict):
            raise _invalid(_("Each condition must be an object."))
        if is_group(node):
            (op,) = [k for k in ("all", "any") if k in node]
            children = node[op]
            if not isinstance(children, list):
                raise _invalid(_("“all” and “any” hold a list of conditions."))
            if op == "any" and not children:
                raise _invalid(_("“any” needs at least one condition."))
            return {op: [clean(child, depth + 1) for child in children]}
        return clean_leaf(node)

    def clean_leaf(node: dict[str, Any]) -> dict[str, Any]:
        kind = node.get("type")
        if kind not in LEAF_TYPES:
            raise _invalid(_("Unknown kind of condition: %(kind)s.", kind=str(kind)))
        leaf_id = node.get("id")
        if not isinstance(leaf_id, str) or not leaf_id.strip() or leaf_id in seen:
            leaf_id = next_id()
        seen.add(leaf_id)
        leaf: dict[str, Any] = {"id": leaf_id[:20], "type": kind}
        if kind == "date_reached":
            try:
                leaf["date"] = dt.date.fromisoformat(str(node.get("date"))).isoformat()
            except ValueError:
                raise _invalid(_("A date condition needs a date such as 2026-03-12.")) from None
        elif kind == "report_accepted":
            report_kind = node.get("kind")
            if report_kind not in {k.value for k in ReportKind}:
                raise _invalid(_("A report condition names a narrative or financial report."))
            number = node.get("tranche")
            if not isinstance(number, int) or isinstance(number, bool) or number < 1:
                raise _invalid(_("A report condition names the tranche the report covers."))
            leaf["kind"] = report_kind
            leaf["tranche"] = number
        elif kind in ("milestone_verified", "document_provided"):
            key = "label" if kind == "milestone_verified" else "kind"
            text = str(node.get(key) or "").strip()
            if not text or len(text) > 200:
                raise _invalid(_("Name the milestone or document (at most 200 characters)."))
            leaf[key] = text
        elif kind == "previous_spent_at_least":
            percent = node.get("percent")
            if not isinstance(percent, int) or isinstance(percent, bool) or not 0 < percent <= 100:
                raise _invalid(_("The share spent is a whole percentage from 1 to 100."))
            if tranche_number == 1:
                raise _invalid(_("The first tranche has no previous tranche."))
            leaf["percent"] = percent
        return leaf

    if not is_group(tree):
        raise _invalid(_("Conditions start with “all” or “any”."))
    return clean(tree, 1)


def is_group(node: Any) -> bool:
    return (
        isinstance(node, dict)
        and len([k for k in ("all", "any") if k in node]) == 1
        and ("type" not in node)
    )


def iter_leaves(tree: Any) -> Iterable[dict[str, Any]]:
    if is_group(tree):
        for child in tree.get("all", tree.get("any", [])):
            yield from iter_leaves(child)
    elif isinstance(tree, dict):
        yield tree


def leaf_ids(tree: dict[str, Any]) -> set[str]:
    return {leaf["id"] for leaf in iter_leaves(tree) if "id" in leaf}


@dataclass(frozen=True)
class Facts:
    """What is true for one tranche today. Each fact carries the date it became true."""

    today: dt.date
    tranche_number: int = 1
    accepted_reports: Mapping[tuple[str, int], dt.date] = field(default_factory=dict)
    verified_milestones: Mapping[str, dt.date] = field(default_factory=dict)
    documents: Mapping[str, dt.date] = field(default_factory=dict)
    # The accepted financial report for the previous tranche: spent / that tranche, in %.
    previous_spent_percent: Decimal | None = None
    previous_spent_on: dt.date | None = None
    manual_approval_on: dt.date | None = None
    waivers: Mapping[str, dt.date] = field(default_factory=dict)


@dataclass(frozen=True)
class LeafResult:
    id: str
    met: bool
    waived: bool
    text: str
    since: dt.date | None  # the day it became true (met or waived)


@dataclass(frozen=True)
class Evaluation:
    met: bool
    since: dt.date | None  # the day the whole tree became true
    leaves: tuple[LeafResult, ...]
    summary: str


def _fmt_date(value: dt.date, locale: str) -> str:
    return format_date(value, "d MMMM y", locale=locale)


def describe_leaf(leaf: Mapping[str, Any], locale: str = "en") -> str:
    """A condition in plain words, as the grantee and the fund read it."""
    kind = leaf.get("type")
    if kind == "date_reached":
        return _("%(date)s reached", date=_fmt_date(dt.date.fromisoformat(leaf["date"]), locale))
    if kind == "report_accepted":
        if leaf["kind"] == ReportKind.FINANCIAL:
            return _("financial report for tranche %(n)s accepted", n=leaf["tranche"])
        return _("narrative report for tranche %(n)s accepted", n=leaf["tranche"])
    if kind == "milestone_verified":
        return _("milestone verified: %(label)s", label=leaf["label"])
    if kind == "document_provided":
        return _("document provided: %(kind)s", kind=leaf["kind"])
    if kind == "previous_spent_at_least":
        return _("at least %(percent)s%% of the previous tranche spent", percent=leaf["percent"])
    if kind == "manual_approval":
        return _("approved by the fund manager")
    return str(kind)


def describe_conditions(tree: Mapping[str, Any], locale: str = "en") -> str:
    """The whole tree in plain words: "a and b", "one of: a, b"."""
    if not is_group(tree):
        return describe_leaf(tree, locale)
    if "all" in tree:
        parts = [describe_conditions(child, locale) for child in tree["all"]]
        if not parts:
            return _("no conditions")
        return _("; ").join(parts) if len(parts) > 1 else parts[0]
    parts = [describe_conditions(child, locale) for child in tree["any"]]
    return _("one of: %(options)s", options=_(" or ").join(parts))


def _leaf_truth(leaf: Mapping[str, Any], facts: Facts) -> dt.date | None:
    """The day a leaf became true, or None while it is not."""
    kind = leaf.get("type")
    if kind == "date_reached":
        due = dt.date.fromisoformat(leaf["date"])
        return due if facts.today >= due else None
    if kind == "report_accepted":
        return facts.accepted_reports.get((leaf["kind"], int(leaf["tranche"])))
    if kind == "milestone_verified":
        return facts.verified_milestones.get(leaf["label"])
    if kind == "document_provided":
        return facts.documents.get(leaf["kind"])
    if kind == "previous_spent_at_least":
        spent = facts.previous_spent_percent
        if spent is not None and spent >= Decimal(int(leaf["percent"])):
            return facts.previous_spent_on or facts.today
        return None
    if kind == "manual_approval":
        return facts.manual_approval_on
    return None


def _evaluate(
    node: Any, facts: Facts, out: list[LeafResult], locale: str
) -> tuple[bool, dt.date | None]:
    if is_group(node):
        results = [
            _evaluate(child, facts, out, locale) for child in node.get("all", node.get("any", []))
        ]
        if "all" in node:
            if all(met for met, _since in results):
                dates = [since for _met, since in results if since is not None]
                return True, max(dates) if dates else None
            return False, None
        met_dates = [since for met, since in results if met]
        if met_dates:
            known = [d for d in met_dates if d is not None]
            return True, min(known) if known else None
        return False, None
    since = _leaf_truth(node, facts)
    waived_on = facts.waivers.get(str(node.get("id")))
    met = since is not None
    if not met and waived_on is not None:
        since = waived_on
    out.append(
        LeafResult(
            id=str(node.get("id")),
            met=met,
            waived=not met and waived_on is not None,
            text=describe_leaf(node, locale),
            since=since,
        )
    )
    return since is not None, since


def evaluate(tree: Mapping[str, Any], facts: Facts, locale: str = "en") -> Evaluation:
    """Whether the conditions hold today (a waived leaf counts as held), since when, and
    what is still missing, in words."""
    leaves: list[LeafResult] = []
    met, since = _evaluate(tree, facts, leaves, locale)
    return Evaluation(met=met, since=since, leaves=tuple(leaves), summary=explain(met, leaves))


def explain(met: bool, leaves: Iterable[LeafResult]) -> str:
    """ "Waiting for: financial report for tranche 1; 12 March 2026 reached ✓"."""
    leaves = list(leaves)
    done = [
        _("%(condition)s (waived)", condition=leaf.text) if leaf.waived else f"{leaf.text} ✓"
        for leaf in leaves
        if leaf.met or leaf.waived
    ]
    waiting = [leaf.text for leaf in leaves if not (leaf.met or leaf.waived)]
    if not leaves:
        return _("No conditions: ready to be released.")
    if met:
        head = _("Conditions met")
        return f"{head}: " + "; ".join(done)
    parts = [_("Waiting for: %(missing)s", missing="; ".join(waiting))]
    parts.extend(done)
    return "; ".join(parts)
