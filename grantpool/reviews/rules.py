"""Pure rules of reviewing and deciding: the rubric, scores and their aggregation, the
states of an assignment and of a decision, and what a blind reviewer may read.

No database and no Flask request here. Scores are integers in basis points (0–10,000 for
0–100 %) computed with exact fractions, so the same review always gives the same score.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..platform.errors import ValidationFailed
from ..platform.states import check_transition

FULL_SCORE = 10_000  # basis points: 100 %
DEFAULT_SPREAD_THRESHOLD = 3_000  # reviewers 30 points apart disagree


class ReviewerKind(StrEnum):
    STAFF = "staff"
    PANEL = "panel"


REVIEWER_KIND_LABELS = {
    ReviewerKind.STAFF: _l("Staff reviewer"),
    ReviewerKind.PANEL: _l("Community panel member"),
}


class Recommendation(StrEnum):
    FUND = "fund"
    MAYBE = "maybe"
    DO_NOT_FUND = "do_not_fund"


RECOMMENDATION_LABELS = {
    Recommendation.FUND: _l("Fund"),
    Recommendation.MAYBE: _l("Maybe"),
    Recommendation.DO_NOT_FUND: _l("Do not fund"),
}


# The rubric ------------------------------------------------------------------------------

# Scale presets: each option is (value stored, points). Labels are shown as given.
SCALES: dict[str, list[dict[str, Any]]] = {
    "0-4": [{"value": str(n), "label": str(n), "points": n} for n in range(5)],
    "1-5": [{"value": str(n), "label": str(n), "points": n - 1} for n in range(1, 6)],
    "yes-partly-no": [
        {"value": "yes", "label": "Yes", "points": 2},
        {"value": "partly", "label": "Partly", "points": 1},
        {"value": "no", "label": "No", "points": 0},
    ],
}
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_WEIGHT = 100


def scale_max(options: Sequence[Mapping[str, Any]]) -> int:
    return max(int(o["points"]) for o in options)


def clean_criterion(raw: Mapping[str, Any], earlier: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One rubric criterion, checked: key, label, guidance, weight and scale."""
    errors: dict[str, str] = {}
    key = str(raw.get("key") or "").strip()
    if not _KEY.fullmatch(key):
        errors["key"] = _("Use a short key of lower-case letters, digits and underscores.")
    elif key in {c["key"] for c in earlier}:
        errors["key"] = _("Another criterion already uses this key.")
    label = str(raw.get("label") or "").strip()
    if not label:
        errors["label"] = _("Name the criterion.")
    try:
        weight = int(raw.get("weight") or 0)
        if not 1 <= weight <= MAX_WEIGHT:
            raise ValueError
    except (TypeError, ValueError):
        errors["weight"] = _("Give a whole-number weight from 1 to 100.")
        weight = 1
    scale = raw.get("scale")
    if isinstance(scale, str):
        options = SCALES.get(scale)
        if options is None:
            errors["scale"] = _("Choose a scale: 0-4, 1-5 or yes-partly-no.")
            options = []
    else:
        options = [
            {
                "value": str(o["value"]),
                "label": str(o.get("label") or o["value"]),
                "points": int(o["points"]),
            }
            for o in scale or []
            if isinstance(o, Mapping) and "value" in o and "points" in o
        ]
        if len(options) < 2 or len({o["value"] for o in options}) != len(options):
            errors["scale"] = _("A scale needs at least two different options.")
        elif any(o["points"] < 0 for o in options) or scale_max(options) == 0:
            errors["scale"] = _("Points are whole numbers from 0, and one option scores above 0.")
    if errors:
        raise ValidationFailed(errors)
    return {
        "key": key,
        "label": label,
        "guidance": str(raw.get("guidance") or "").strip(),
        "weight": weight,
        "options": [dict(o) for o in options],
    }


def clean_criteria(raw: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    cleaned: list[dict[str, Any]] = []
    for n, item in enumerate(raw, start=1):
        try:
            cleaned.append(clean_criterion(item, cleaned))
        except ValidationFailed as failure:
            raise ValidationFailed(
                {
                    "criteria": [
                        _("Criterion %(n)s: %(message)s", n=n, message=m)
                        for messages in failure.errors.values()
                        for m in messages
                    ]
                }
            ) from None
    if not cleaned:
        raise ValidationFailed.single("criteria", _("A rubric needs at least one criterion."))
    return cleaned


def parse_criteria_lines(text: str) -> list[dict[str, Any]]:
    """The rubric as a manager types it, one criterion per line:
    key | label | weight | scale | guidance (guidance optional)."""
    rows = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        parts += [""] * (5 - len(parts))
        rows.append(
            {
                "key": parts[0],
                "label": parts[1],
                "weight": parts[2],
                "scale": parts[3],
                "guidance": "|".join(parts[4:]).strip(" |"),
            }
        )
    return rows


def criteria_as_lines(criteria: Sequence[Mapping[str, Any]]) -> str:
    def scale_name(options: Sequence[Mapping[str, Any]]) -> str:
        for name, preset in SCALES.items():
            if list(options) == preset:
                return name
        return "0-4"

    return "\n".join(
        " | ".join(
            [c["key"], c["label"], str(c["weight"]), scale_name(c["options"]), c["guidance"]]
        ).rstrip(" |")
        for c in criteria
    )


DEFAULT_CRITERIA: list[dict[str, Any]] = [
    {
        "key": "need",
        "label": "The need is real and well described",
        "guidance": "Does the group show who needs this and why now?",
        "weight": 3,
        "scale": "0-4",
    },
    {
        "key": "community_led",
        "label": "Led by the community it serves",
        "guidance": "Are the people affected deciding and doing the work?",
        "weight": 3,
        "scale": "0-4",
    },
    {
        "key": "feasible",
        "label": "Feasible with this budget",
        "guidance": "Could this group do this with the money asked for?",
        "weight": 2,
        "scale": "yes-partly-no",
    },
]

# Reasons a manager picks from when declining; editable per call. Kept as data in every
# language offered (like a call's own texts), so feedback reaches the applicant in its own.
DEFAULT_DECLINE_REASONS: list[dict[str, Any]] = [
    {
        "key": "budget",
        "text": {
            "en": "The call's budget could not cover every strong application.",
            "fr": "Le budget de l'appel ne permettait pas de financer toutes les bonnes demandes.",
        },
    },
    {
        "key": "fit",
        "text": {
            "en": "The project does not match the purpose of this call closely enough.",
            "fr": "Le projet ne correspond pas assez à l'objet de cet appel.",
        },
    },
    {
        "key": "detail",
        "text": {
            "en": "The application did not explain clearly enough how the money would be used.",
            "fr": "La demande n'expliquait pas assez clairement l'utilisation des fonds.",
        },
    },
]


def score_of(criteria: Sequence[Mapping[str, Any]], answers: Mapping[str, Any]) -> int:
    """The weighted score of one complete review, in basis points (0–10,000).

    Each criterion counts its points as a share of its scale's maximum, weighted; rounded
    half-even once at the end. Raises ValidationFailed naming each unanswered criterion.
    """
    errors: dict[str, str] = {}
    total = Fraction(0)
    weights = 0
    for criterion in criteria:
        value = answers.get(criterion["key"])
        option = next((o for o in criterion["options"] if o["value"] == str(value)), None)
        if value in (None, "") or option is None:
            errors[f"score_{criterion['key']}"] = _("Choose a score for this criterion.")
            continue
        total += Fraction(int(option["points"]), scale_max(criterion["options"])) * int(
            criterion["weight"]
        )
        weights += int(criterion["weight"])
    if errors:
        raise ValidationFailed(errors)
    if weights == 0:
        return 0
    return round(total / weights * FULL_SCORE)


def unknown_scores(criteria: Sequence[Mapping[str, Any]], answers: Mapping[str, Any]) -> list[str]:
    """Keys of given answers that are not an option of their criterion (a draft keeps
    only what fits)."""
    bad = []
    for criterion in criteria:
        value = answers.get(criterion["key"])
        if value not in (None, "") and str(value) not in {o["value"] for o in criterion["options"]}:
            bad.append(criterion["key"])
    return bad


@dataclass(frozen=True)
class ScoredReview:
    kind: ReviewerKind
    score: int  # basis points


def aggregate(
    reviews: Iterable[ScoredReview], staff_weight: int, panel_weight: int
) -> Fraction | None:
    """The application's score: the mean of each kind of reviewer, weighted by the call's
    weight for that kind. A kind with no review (or weight 0) does not count, so the
    result always lies between the lowest and the highest review. None without reviews.
    """
    by_kind: dict[ReviewerKind, list[int]] = {ReviewerKind.STAFF: [], ReviewerKind.PANEL: []}
    for review in reviews:
        by_kind[ReviewerKind(review.kind)].append(review.score)
    weights = {ReviewerKind.STAFF: staff_weight, ReviewerKind.PANEL: panel_weight}
    numerator = Fraction(0)
    denominator = 0
    for kind, scores in by_kind.items():
        if scores and weights[kind] > 0:
            numerator += Fraction(sum(scores), len(scores)) * weights[kind]
            denominator += weights[kind]
    if denominator == 0:
        # Only kinds weighted 0 reviewed: fall back to the plain mean rather than hide them.
        every = by_kind[ReviewerKind.STAFF] + by_kind[ReviewerKind.PANEL]
        return Fraction(sum(every), len(every)) if every else None
    return numerator / denominator


def spread(scores: Sequence[int]) -> int:
    return max(scores) - min(scores) if scores else 0


def is_disputed(scores: Sequence[int], threshold: int) -> bool:
    return len(scores) > 1 and spread(scores) >= threshold


def clean_kind_weights(staff: Any, panel: Any) -> tuple[int, int]:
    errors = {}
    values = []
    for name, value in (("staff_weight", staff), ("panel_weight", panel)):
        try:
            number = int(value)
            if not 0 <= number <= MAX_WEIGHT:
                raise ValueError
        except (TypeError, ValueError):
            errors[name] = _("Give a whole-number weight from 0 to 100.")
            number = 0
        values.append(number)
    if not errors and sum(values) == 0:
        errors["staff_weight"] = _("At least one kind of reviewer must count.")
    if errors:
        raise ValidationFailed(errors)
    return values[0], values[1]


# Assignments -----------------------------------------------------------------------------


class AssignmentState(StrEnum):
    ASSIGNED = "assigned"  # waiting for the conflict declaration
    ACCEPTED = "accepted"  # no conflict declared: may review
    SUBMITTED = "submitted"  # review sent
    CONFLICTED = "conflicted"  # conflict declared: never sees the application again


A = AssignmentState
ASSIGNMENT_TRANSITIONS: dict[AssignmentState, frozenset[AssignmentState]] = {
    A.ASSIGNED: frozenset({A.ACCEPTED, A.CONFLICTED}),
    A.ACCEPTED: frozenset({A.SUBMITTED}),
    A.SUBMITTED: frozenset(),
    A.CONFLICTED: frozenset(),
}

ASSIGNMENT_LABELS = {
    A.ASSIGNED: _l("Declare conflicts first"),
    A.ACCEPTED: _l("To review"),
    A.SUBMITTED: _l("Review sent"),
    A.CONFLICTED: _l("Conflict declared"),
}


def _assignment_refusal(_current: str, _target: str) -> str:
    return _("This review cannot change that way any more.")


def check_assignment_transition(current: str, target: str) -> None:
    check_transition(
        ASSIGNMENT_TRANSITIONS, current, target, ASSIGNMENT_LABELS, _assignment_refusal
    )


@dataclass(frozen=True)
class Candidate:
    user_id: int
    load: int  # assignments this reviewer already holds in the call


def pick_reviewers(candidates: Sequence[Candidate], excluded: set[int], needed: int) -> list[int]:
    """Balanced choice: the least-loaded reviewers not excluded (ties by id, so the result
    is the same every time). `candidates` is not changed."""
    free = sorted(
        (c for c in candidates if c.user_id not in excluded), key=lambda c: (c.load, c.user_id)
    )
    return [c.user_id for c in free[: max(needed, 0)]]


# Decisions -------------------------------------------------------------------------------


class DecisionKind(StrEnum):
    AWARD = "award"
    DECLINE = "decline"


class DecisionState(StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


DECISION_KIND_LABELS = {DecisionKind.AWARD: _l("Award"), DecisionKind.DECLINE: _l("Decline")}


def compose_feedback(
    reasons: Sequence[Mapping[str, Any]], chosen: Sequence[str], free_text: str, language: str
) -> str:
    """The feedback an applicant reads: the chosen reasons in its language, then the
    manager's own words."""
    from ..calls.rules import text_in

    by_key = {r["key"]: r for r in reasons}
    lines = [f"- {text_in(by_key[k]['text'], language)}" for k in chosen if k in by_key]
    if free_text.strip():
        lines.append(free_text.strip())
    return "\n".join(lines)


def clean_decline_reasons(text: str) -> list[dict[str, Any]]:
    """Editable reasons, one per line: key | language | text (several lines may share a key
    to give it in several languages)."""
    reasons: dict[str, dict[str, Any]] = {}
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|", 2)]
        if len(parts) != 3 or not _KEY.fullmatch(parts[0]) or not parts[1] or not parts[2]:
            raise ValidationFailed.single(
                "decline_reasons",
                _("Line %(n)s: write key | language | text, such as: budget | en | …", n=n),
            )
        reasons.setdefault(parts[0], {"key": parts[0], "text": {}})["text"][parts[1]] = parts[2]
    return list(reasons.values())


def decline_reasons_as_lines(reasons: Sequence[Mapping[str, Any]]) -> str:
    return "\n".join(
        f"{r['key']} | {lang} | {text}" for r in reasons for lang, text in r["text"].items()
    )


# Blind review ----------------------------------------------------------------------------

REDACTED = "[…]"


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """Replace every identifying string (case-insensitive) in an answer, recursively."""
    words = sorted({s for s in secrets if s and len(s.strip()) >= 3}, key=len, reverse=True)
    if not words:
        return value
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return pattern.sub(REDACTED, item)
        if isinstance(item, list):
            return [walk(i) for i in item]
        if isinstance(item, dict):
            return {k: walk(v) for k, v in item.items()}
        return item

    return walk(value)
