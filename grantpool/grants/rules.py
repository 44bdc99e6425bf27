"""Pure rules of grants: states, tranche templates and the condition tree.

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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from babel.dates import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..platform.errors import InvalidTransition, ValidationFailed
from ..platform.money import Money

# --- states ---------------------------------------------------------------------------------


class GrantState(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSING = "closing"
    CLOSED = "closed"
    TERMINATED = "terminated"


G = GrantState
GRANT_TRANSITIONS: dict[GrantState, frozenset[GrantState]] = {
    G.ACTIVE: frozenset({G.SUSPENDED, G.CLOSING, G.TERMINATED}),
    G.SUSPENDED: frozenset({G.ACTIVE, G.TERMINATED}),
    G.CLOSING: frozenset({G.CLOSED}),
    G.CLOSED: frozenset(),
    G.TERMINATED: frozenset(),
}


class TrancheState(StrEnum):
    SCHEDULED = "scheduled"
    RELEASE_REQUESTED = "release_requested"
    APPROVED = "approved"
    PAID = "paid"
    CANCELLED = "cancelled"


T = TrancheState
TRANCHE_TRANSITIONS: dict[TrancheState, frozenset[TrancheState]] = {
    T.SCHEDULED: frozenset({T.RELEASE_REQUESTED, T.CANCELLED}),
    # A refused request puts the tranche back on the schedule.
    T.RELEASE_REQUESTED: frozenset({T.APPROVED, T.SCHEDULED}),
    T.APPROVED: frozenset({T.PAID, T.SCHEDULED}),
    T.PAID: frozenset(),
    T.CANCELLED: frozenset(),
}


class DisbursementState(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    PAID = "paid"
    REJECTED = "rejected"


D = DisbursementState
DISBURSEMENT_TRANSITIONS: dict[DisbursementState, frozenset[DisbursementState]] = {
    D.REQUESTED: frozenset({D.APPROVED, D.REJECTED}),
    D.APPROVED: frozenset({D.PAID, D.REJECTED}),
    D.PAID: frozenset(),
    D.REJECTED: frozenset(),
}


class ReportState(StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    RETURNED = "returned"


R = ReportState
REPORT_TRANSITIONS: dict[ReportState, frozenset[ReportState]] = {
    R.SUBMITTED: frozenset({R.ACCEPTED, R.RETURNED}),
    R.RETURNED: frozenset({R.SUBMITTED}),
    R.ACCEPTED: frozenset(),
}


class ReportKind(StrEnum):
    NARRATIVE = "narrative"
    FINANCIAL = "financial"


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class PaymentMethod(StrEnum):
    BANK_TRANSFER = "bank_transfer"
    MOBILE_MONEY = "mobile_money"
    CASH_AGENT = "cash_agent"


class EvidenceKind(StrEnum):
    MILESTONE = "milestone"
    DOCUMENT = "document"
    MANUAL_APPROVAL = "manual_approval"


GRANT_STATE_LABELS = {
    G.ACTIVE: _l("Active"),
    G.SUSPENDED: _l("Suspended"),
    G.CLOSING: _l("Closing"),
    G.CLOSED: _l("Closed"),
    G.TERMINATED: _l("Terminated"),
}
TRANCHE_STATE_LABELS = {
    T.SCHEDULED: _l("Scheduled"),
    T.RELEASE_REQUESTED: _l("Release requested"),
    T.APPROVED: _l("Release approved"),
    T.PAID: _l("Paid"),
    T.CANCELLED: _l("Cancelled"),
}
REPORT_STATE_LABELS = {
    R.SUBMITTED: _l("Submitted"),
    R.ACCEPTED: _l("Accepted"),
    R.RETURNED: _l("Returned with comments"),
}
PAYMENT_METHOD_LABELS = {
    PaymentMethod.BANK_TRANSFER: _l("Bank transfer"),
    PaymentMethod.MOBILE_MONEY: _l("Mobile money"),
    PaymentMethod.CASH_AGENT: _l("Cash via agent"),
}
RISK_LABELS = {RiskLevel.LOW: _l("Low"), RiskLevel.MEDIUM: _l("Medium"), RiskLevel.HIGH: _l("High")}


def _check(
    table: Mapping[Any, frozenset[Any]], enum: type[StrEnum], current: str, target: str
) -> None:
    if enum(target) not in table[enum(current)]:
        raise InvalidTransition(
            _(
                "This is “%(current)s” and cannot become “%(target)s”.",
                current=current,
                target=target,
            )
        )


def check_grant_transition(current: str, target: str) -> None:
    _check(GRANT_TRANSITIONS, GrantState, current, target)


def check_tranche_transition(current: str, target: str) -> None:
    _check(TRANCHE_TRANSITIONS, TrancheState, current, target)


def check_disbursement_transition(current: str, target: str) -> None:
    _check(DISBURSEMENT_TRANSITIONS, DisbursementState, current, target)


def check_report_transition(current: str, target: str) -> None:
    _check(REPORT_TRANSITIONS, ReportState, current, target)


# --- condition trees ------------------------------------------------------------------------

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
    for leaf in iter_leaves(tree) if _is_group(tree) else []:
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
        if _is_group(node):
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

    if not _is_group(tree):
        raise _invalid(_("Conditions start with “all” or “any”."))
    return clean(tree, 1)


def _is_group(node: Any) -> bool:
    return (
        isinstance(node, dict)
        and len([k for k in ("all", "any") if k in node]) == 1
        and ("type" not in node)
    )


def iter_leaves(tree: Any) -> Iterable[dict[str, Any]]:
    if _is_group(tree):
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
    if not _is_group(tree):
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
    if _is_group(node):
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


# --- tranche templates ----------------------------------------------------------------------

# A template is data: a list of tranches, each with a share (percent, weights for
# Money.allocate), a due date as days after the grant's start, and conditions in which
# date_reached may say "offset_days" instead of a date and report tranches are numbers.
DEFAULT_TEMPLATES: dict[str, list[dict[str, Any]]] = {
    RiskLevel.LOW: [
        {"percent": 60, "offset_days": 0, "conditions": {"all": []}},
        {
            "percent": 40,
            "offset_days": 180,
            "conditions": {
                "all": [
                    {"type": "date_reached", "offset_days": 180},
                    {"type": "report_accepted", "kind": "narrative", "tranche": 1},
                ]
            },
        },
    ],
    RiskLevel.MEDIUM: [
        {"percent": 40, "offset_days": 0, "conditions": {"all": []}},
        {
            "percent": 30,
            "offset_days": 120,
            "conditions": {
                "all": [
                    {"type": "date_reached", "offset_days": 120},
                    {"type": "report_accepted", "kind": "financial", "tranche": 1},
                ]
            },
        },
        {
            "percent": 30,
            "offset_days": 240,
            "conditions": {
                "all": [
                    {"type": "date_reached", "offset_days": 240},
                    {"type": "report_accepted", "kind": "narrative", "tranche": 2},
                    {"type": "report_accepted", "kind": "financial", "tranche": 2},
                ]
            },
        },
    ],
    RiskLevel.HIGH: [
        {
            "percent": 25,
            "offset_days": 0,
            "conditions": {"all": [{"type": "document_provided", "kind": "bank account letter"}]},
        },
        *[
            {
                "percent": 25,
                "offset_days": 90 * n,
                "conditions": {
                    "all": [
                        {"type": "date_reached", "offset_days": 90 * n},
                        {"type": "report_accepted", "kind": "narrative", "tranche": n},
                        {"type": "report_accepted", "kind": "financial", "tranche": n},
                        {"type": "previous_spent_at_least", "percent": 70},
                    ]
                },
            }
            for n in (1, 2, 3)
        ],
    ],
}


def validate_template(tranches: Any) -> list[dict[str, Any]]:
    """A clean copy of a template's tranche list, or ValidationFailed."""
    if not isinstance(tranches, list) or not 1 <= len(tranches) <= 12:
        raise ValidationFailed.single("tranches", _("A template has from 1 to 12 tranches."))
    clean: list[dict[str, Any]] = []
    for number, spec in enumerate(tranches, start=1):
        if not isinstance(spec, dict):
            raise ValidationFailed.single("tranches", _("Each tranche must be an object."))
        percent = spec.get("percent")
        offset = spec.get("offset_days", 0)
        if not isinstance(percent, int) or isinstance(percent, bool) or not 0 < percent <= 100:
            raise ValidationFailed.single(
                "tranches", _("Each tranche's share is a whole percentage from 1 to 100.")
            )
        if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= 3650:
            raise ValidationFailed.single(
                "tranches", _("Days after the start are a whole number from 0 to 3650.")
            )
        # Check the conditions with a stand-in date where the template uses offsets.
        probe = _resolve_offsets(spec.get("conditions") or {"all": []}, dt.date(2000, 1, 1))
        normalise_conditions(probe, tranche_number=number)
        clean.append(
            {
                "percent": percent,
                "offset_days": offset,
                "conditions": spec.get("conditions") or {"all": []},
            }
        )
    if sum(t["percent"] for t in clean) != 100:
        raise ValidationFailed.single("tranches", _("The tranches' shares must add up to 100%."))
    return clean


def _resolve_offsets(node: Any, start: dt.date) -> Any:
    if isinstance(node, dict) and _is_group(node):
        op = "all" if "all" in node else "any"
        return {op: [_resolve_offsets(child, start) for child in node[op]]}
    if isinstance(node, dict) and node.get("type") == "date_reached" and "offset_days" in node:
        leaf = {k: v for k, v in node.items() if k != "offset_days"}
        leaf["date"] = (start + dt.timedelta(days=int(node["offset_days"]))).isoformat()
        return leaf
    return node


@dataclass(frozen=True)
class PlannedTranche:
    number: int
    amount: Money
    due_on: dt.date
    conditions: dict[str, Any]


def plan_schedule(
    template: list[dict[str, Any]], amount: Money, start: dt.date
) -> list[PlannedTranche]:
    """The tranches of a grant from a template: amounts add up exactly to the grant."""
    shares = amount.allocate([int(spec["percent"]) for spec in template])
    return [
        PlannedTranche(
            number=n,
            amount=share,
            due_on=start + dt.timedelta(days=int(spec.get("offset_days", 0))),
            conditions=normalise_conditions(
                _resolve_offsets(spec.get("conditions") or {"all": []}, start), tranche_number=n
            ),
        )
        for n, (spec, share) in enumerate(zip(template, shares, strict=True), start=1)
    ]


def check_schedule_adds_up(amounts: Iterable[Money], total: Money) -> None:
    amounts = list(amounts)
    added = sum((a.amount_minor for a in amounts), 0)
    if any(a.amount_minor <= 0 for a in amounts):
        raise ValidationFailed.single("tranches", _("Every tranche needs an amount above zero."))
    if added != total.amount_minor:
        raise ValidationFailed.single(
            "tranches",
            _(
                "The tranches add up to %(sum)s but the grant is %(total)s.",
                sum=str(Money(added, total.currency)),
                total=str(total),
            ),
        )


# --- timeliness -----------------------------------------------------------------------------


def days_between(start: dt.date | None, end: dt.date | None) -> int | None:
    if start is None or end is None:
        return None
    return max((end - start).days, 0)


def spent_percent(spent: Money, of: Money) -> Decimal:
    if of.amount_minor <= 0:
        return Decimal(0)
    return (Decimal(spent.amount_minor) * 100 / Decimal(of.amount_minor)).quantize(Decimal("0.01"))


# --- templates as form rows -------------------------------------------------------------------

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
        fields = _plain_conditions(
            spec.get("conditions"), lambda leaf, due=offset: leaf.get("offset_days") == due
        )
        if fields is None:
            return None
        rows.append({"percent": spec["percent"], "offset_days": offset, **fields})
    return rows


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
        if not isinstance(leaf, dict) or _is_group(leaf):
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
