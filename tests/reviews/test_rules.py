"""Rubric scoring and aggregation: invariants checked with hypothesis, no database."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grantpool.platform.errors import ValidationFailed
from grantpool.reviews.rules import (
    DEFAULT_DECLINE_REASONS,
    FULL_SCORE,
    SCALES,
    Candidate,
    ReviewerKind,
    ScoredReview,
    aggregate,
    clean_criteria,
    compose_feedback,
    is_disputed,
    parse_criteria_lines,
    pick_reviewers,
    redact,
    score_of,
)

scales = st.sampled_from(sorted(SCALES))
criteria_st = st.lists(st.tuples(st.integers(1, 100), scales), min_size=1, max_size=6).map(
    lambda items: clean_criteria(
        [
            {"key": f"c{i}", "label": f"C{i}", "weight": w, "scale": s}
            for i, (w, s) in enumerate(items)
        ]
    )
)


@st.composite
def rubric_and_answers(draw):
    criteria = draw(criteria_st)
    answers = {
        c["key"]: draw(st.sampled_from([o["value"] for o in c["options"]])) for c in criteria
    }
    return criteria, answers


@given(rubric_and_answers())
def test_a_score_lies_between_nothing_and_full_marks(case):
    criteria, answers = case
    assert 0 <= score_of(criteria, answers) <= FULL_SCORE


@given(criteria_st)
def test_best_and_worst_answers_score_full_and_zero(criteria):
    best = {c["key"]: max(c["options"], key=lambda o: o["points"])["value"] for c in criteria}
    worst = {c["key"]: min(c["options"], key=lambda o: o["points"])["value"] for c in criteria}
    assert score_of(criteria, best) == FULL_SCORE
    assert score_of(criteria, worst) == 0


@given(rubric_and_answers(), st.integers(2, 9))
def test_scaling_every_weight_changes_nothing(case, factor):
    criteria, answers = case
    scaled = [dict(c, weight=c["weight"] * factor) for c in criteria]
    assert score_of(scaled, answers) == score_of(criteria, answers)


def test_a_missing_criterion_is_named():
    criteria = clean_criteria(
        [
            {"key": "need", "label": "Need", "weight": 1, "scale": "0-4"},
            {"key": "fit", "label": "Fit", "weight": 1, "scale": "0-4"},
        ]
    )
    with pytest.raises(ValidationFailed) as failure:
        score_of(criteria, {"need": "4", "fit": "7"})
    assert set(failure.value.errors) == {"score_fit"}
    assert score_of(criteria, {"need": "4", "fit": "0"}) == 5000


reviews_st = st.lists(
    st.builds(ScoredReview, st.sampled_from(list(ReviewerKind)), st.integers(0, FULL_SCORE)),
    min_size=1,
    max_size=8,
)
weight = st.integers(0, 10)


@given(reviews_st, weight, weight)
def test_the_aggregate_lies_between_the_lowest_and_highest_review(reviews, ws, wp):
    result = aggregate(reviews, ws, wp)
    assert result is not None
    assert min(r.score for r in reviews) <= result <= max(r.score for r in reviews)


@given(reviews_st, weight, weight, st.randoms())
def test_order_of_reviews_does_not_matter(reviews, ws, wp, rnd):
    shuffled = list(reviews)
    rnd.shuffle(shuffled)
    assert aggregate(shuffled, ws, wp) == aggregate(reviews, ws, wp)


@given(reviews_st, st.integers(1, 10), st.integers(1, 10), st.integers(2, 5))
def test_only_the_ratio_of_kind_weights_matters(reviews, ws, wp, k):
    assert aggregate(reviews, ws * k, wp * k) == aggregate(reviews, ws, wp)


@given(reviews_st, weight, weight, st.data())
def test_raising_one_score_never_lowers_the_aggregate(reviews, ws, wp, data):
    i = data.draw(st.integers(0, len(reviews) - 1))
    raised = list(reviews)
    raised[i] = ScoredReview(reviews[i].kind, data.draw(st.integers(reviews[i].score, FULL_SCORE)))
    assert aggregate(raised, ws, wp) >= aggregate(reviews, ws, wp)


@given(st.integers(0, FULL_SCORE), st.integers(1, 6), st.integers(0, 6), weight, weight)
def test_agreeing_reviewers_give_their_common_score(score, n_staff, n_panel, ws, wp):
    reviews = [ScoredReview(ReviewerKind.STAFF, score)] * n_staff + [
        ScoredReview(ReviewerKind.PANEL, score)
    ] * n_panel
    assert aggregate(reviews, ws, wp) == score


def test_kind_weights_balance_the_kinds_not_the_head_count():
    reviews = [ScoredReview(ReviewerKind.STAFF, 10000)] * 3 + [ScoredReview(ReviewerKind.PANEL, 0)]
    assert aggregate(reviews, 1, 1) == 5000
    assert aggregate(reviews, 1, 3) == 2500
    assert aggregate(reviews, 1, 0) == 10000
    assert aggregate([], 1, 1) is None
    assert aggregate(reviews, 0, 0) == Fraction(30000, 4)


def test_disagreement_is_flagged_from_the_threshold():
    assert is_disputed([2000, 5000], 3000) and not is_disputed([2000, 4999], 3000)
    assert not is_disputed([0], 1)


@given(
    st.lists(st.integers(0, 20), min_size=0, max_size=10),
    st.sets(st.integers(0, 9)),
    st.integers(0, 12),
)
def test_picking_is_balanced_and_skips_the_excluded(loads, excluded, needed):
    candidates = [Candidate(i, load) for i, load in enumerate(loads)]
    chosen = pick_reviewers(candidates, excluded, needed)
    free = [c for c in candidates if c.user_id not in excluded]
    assert len(chosen) == min(needed, len(free)) and len(set(chosen)) == len(chosen)
    assert not set(chosen) & excluded
    if chosen:
        worst_chosen = max(loads[i] for i in chosen)
        assert all(c.load >= worst_chosen for c in free if c.user_id not in chosen)


def test_feedback_is_written_in_the_applicants_language():
    fr = compose_feedback(DEFAULT_DECLINE_REASONS, ["fit", "unknown"], "Bon courage.", "fr")
    assert fr == "- Le projet ne correspond pas assez à l'objet de cet appel.\nBon courage."
    sw = compose_feedback(DEFAULT_DECLINE_REASONS, ["fit"], "", "sw")
    assert sw.startswith("- The project does not match")  # English when not translated


def test_redaction_removes_identifying_words_everywhere():
    answers = {"summary": "Riverside WOMEN farmers (RWF) call +254 711", "list": ["rwf"], "n": 3}
    clean = redact(answers, ["Riverside Women Farmers", "RWF", "+254 711", ""])
    assert "riverside" not in str(clean).lower() and "rwf" not in str(clean).lower()
    assert clean["n"] == 3


def test_a_rubric_typed_one_line_per_criterion():
    criteria = clean_criteria(
        parse_criteria_lines(
            "need | Real need | 3 | 0-4 | Who needs it?\nfeasible | Feasible | 1 | yes-partly-no\n"
        )
    )
    assert [c["key"] for c in criteria] == ["need", "feasible"]
    assert criteria[0]["guidance"] == "Who needs it?"
    assert [o["points"] for o in criteria[1]["options"]] == [2, 1, 0]
    with pytest.raises(ValidationFailed):
        clean_criteria(parse_criteria_lines("need | Need | 0 | 0-9"))
