"""A call's review settings: rubric, kind weights, blind review, hidden reviews,
disagreement threshold, decline reasons and due date."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from ...accounts.models import User
from ...calls.models import Call
from ...platform.audit import record_event
from ...platform.errors import ValidationFailed
from ..commands import KEEP, SettingsChange
from ..models import ReviewSettings
from ..queries import has_submitted_reviews, settings_of
from ..rules import clean_criteria, clean_kind_weights


def save_settings(
    session: Session, actor: User, call: Call, change: SettingsChange
) -> ReviewSettings:
    """Rubric, kind weights, blind review, hidden reviews, disagreement threshold, decline
    reasons and due date. The rubric cannot change once a review has been submitted, since
    scores already given would no longer mean the same."""
    settings = settings_of(session, call)
    errors: dict[str, list[str]] = {}
    criteria = settings.criteria
    if change.criteria is not None:
        try:
            criteria = clean_criteria(change.criteria)
        except ValidationFailed as failure:
            errors.update(failure.errors)
        else:
            if criteria != settings.criteria and has_submitted_reviews(session, call):
                errors["criteria"] = [
                    _("Reviews have been submitted, so the rubric can no longer change.")
                ]
    try:
        staff_weight, panel_weight = clean_kind_weights(
            settings.staff_weight if change.staff_weight is None else change.staff_weight,
            settings.panel_weight if change.panel_weight is None else change.panel_weight,
        )
    except ValidationFailed as failure:
        errors.update(failure.errors)
        staff_weight, panel_weight = settings.staff_weight, settings.panel_weight
    threshold = settings.spread_threshold
    if change.spread_threshold is not None:
        threshold = change.spread_threshold
        if not 1 <= threshold <= 10_000:
            errors["spread_threshold"] = [
                _("Give the disagreement threshold in basis points, from 1 to 10000.")
            ]
    if errors:
        raise ValidationFailed(errors)
    before = {
        "criteria": settings.criteria,
        "staff_weight": settings.staff_weight,
        "panel_weight": settings.panel_weight,
        "blind": settings.blind,
        "hide_other_reviews": settings.hide_other_reviews,
    }
    settings.criteria = criteria
    settings.staff_weight, settings.panel_weight = staff_weight, panel_weight
    if change.blind is not None:
        settings.blind = change.blind
    if change.hide_other_reviews is not None:
        settings.hide_other_reviews = change.hide_other_reviews
    settings.spread_threshold = threshold
    if change.decline_reasons is not None:
        settings.decline_reasons = [dict(r) for r in change.decline_reasons]
    else:
        settings.decline_reasons = list(settings.decline_reasons)
    if change.due_at is not KEEP:
        settings.due_at = change.due_at
    session.add(settings)
    session.flush()
    record_event(
        session,
        actor,
        "reviews.settings",
        call,
        object_type="call",
        before=before,
        after={
            "criteria": criteria,
            "staff_weight": staff_weight,
            "panel_weight": panel_weight,
            "blind": settings.blind,
            "hide_other_reviews": settings.hide_other_reviews,
        },
    )
    return settings
