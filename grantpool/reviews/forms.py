"""HTML forms of reviews. Each parses what was typed into a command (commands.py), raising
ValidationFailed, with a message per field, for what cannot be read at all; the service
then checks the rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField, TextAreaField

from ..platform.errors import ValidationFailed
from ..platform.forms import Form
from ..platform.money import parse_money
from .commands import (
    ConflictAnswer,
    DecisionProposal,
    DecisionRejection,
    InfoAnswer,
    MoreInfoRequest,
    ScoreSheet,
    SettingsChange,
)
from .rules import DecisionKind, clean_decline_reasons, parse_criteria_lines


class SettingsForm(Form):
    criteria = TextAreaField(
        _l("Rubric"),
        description=_l(
            "One criterion per line: key | name | weight | scale | guidance. Scales: 0-4, "
            "1-5 or yes-partly-no."
        ),
    )
    staff_weight = StringField(_l("Weight of staff reviewers"))
    panel_weight = StringField(_l("Weight of community panel members"))
    blind = BooleanField(
        _l("Blind review"),
        description=_l("Reviewers do not see the organisation's name, contacts or files' names."),
    )
    hide_other_reviews = BooleanField(_l("Hide other reviews until one's own is sent"))
    spread_threshold = StringField(
        _l("Flag disagreement from (points out of 100)"),
    )
    decline_reasons = TextAreaField(
        _l("Reasons for declining"),
        description=_l("One per line: key | language | text. Repeat a key for each language."),
    )
    due_at = StringField(_l("Reviews due (YYYY-MM-DD, optional)"))

    def change(self, timezone: str) -> SettingsChange:
        """Every setting as typed; a blank threshold keeps the saved one. The due date is
        the end of that day in the fund's time zone."""
        errors: dict[str, list[str]] = {}
        weights: list[int | None] = []
        for field in (self.staff_weight, self.panel_weight):
            try:
                weights.append(int(field.data or ""))
            except ValueError:
                errors[field.name] = [_("Give a whole-number weight from 0 to 100.")]
                weights.append(None)
        threshold = None
        if (self.spread_threshold.data or "").strip():
            try:
                threshold = round(float(self.spread_threshold.data.replace(",", ".")) * 100)
            except (ValueError, OverflowError):
                errors["spread_threshold"] = [
                    _("Give the disagreement threshold in basis points, from 1 to 10000.")
                ]
        reasons: list[dict[str, Any]] = []
        try:
            reasons = clean_decline_reasons(self.decline_reasons.data or "")
        except ValidationFailed as failure:
            errors.update(failure.errors)
        due_at = None
        try:
            due_at = end_of_day(self.due_at.data, timezone)
        except ValidationFailed as failure:
            errors.update(failure.errors)
        if errors:
            raise ValidationFailed(errors)
        return SettingsChange(
            criteria=tuple(parse_criteria_lines(self.criteria.data or "")),
            staff_weight=weights[0],
            panel_weight=weights[1],
            blind=bool(self.blind.data),
            hide_other_reviews=bool(self.hide_other_reviews.data),
            spread_threshold=threshold,
            decline_reasons=tuple(reasons),
            due_at=due_at,
        )


def end_of_day(text: str | None, timezone: str) -> dt.datetime | None:
    """A day typed as YYYY-MM-DD, as its last minute where the fund works (in UTC)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed.single("due_at", _("Enter a date such as 2026-03-31.")) from None
    local = dt.datetime.combine(day, dt.time(23, 59), tzinfo=ZoneInfo(timezone))
    return local.astimezone(dt.UTC)


class ConflictForm(Form):
    # Radios drawn by the template (choices: no, yes).
    has_conflict = StringField(_l("Do you have a conflict of interest with this application?"))
    nature = TextAreaField(
        _l("If yes, what is the conflict?"),
        description=_l("For example a family tie, a job or money shared with the organisation."),
    )

    def answer(self) -> ConflictAnswer:
        if self.has_conflict.data not in ("yes", "no"):
            raise ValidationFailed.single("has_conflict", _("Choose whether you have a conflict."))
        return ConflictAnswer(self.has_conflict.data == "yes", self.nature.data or "")


class ProposeForm(Form):
    kind = StringField(_l("Decision"))  # radios drawn by the template: award, decline
    amount = StringField(_l("Amount to award"))
    reason = TextAreaField(_l("Reasons (for the fund manager who confirms)"))
    feedback_text = TextAreaField(
        _l("Feedback for the applicant, in its language"),
        description=_l("Added after the reasons you tick. Write what would help next time."),
    )

    def proposal(self, currency: str, locale: str, reason_keys: Sequence[str]) -> DecisionProposal:
        """The amount is read in the given locale; the ticked reasons come as a list."""
        if self.kind.data not in {k.value for k in DecisionKind}:
            raise ValidationFailed.single("kind", _("Choose to award or to decline."))
        kind = DecisionKind(self.kind.data)
        amount_minor = None
        if kind == DecisionKind.AWARD:
            try:
                amount_minor = parse_money(self.amount.data or "", currency, locale).amount_minor
            except ValueError:
                raise ValidationFailed.single(
                    "amount", _("Enter the amount to award, such as 2500.")
                ) from None
        return DecisionProposal(
            kind=kind,
            amount_minor=amount_minor,
            reason=self.reason.data or "",
            reason_keys=tuple(reason_keys),
            feedback_text=self.feedback_text.data or "",
        )


class RejectForm(Form):
    note = TextAreaField(_l("Why do you reject this proposal?"))

    def rejection(self) -> DecisionRejection:
        return DecisionRejection(self.note.data or "")


class InfoRequestForm(Form):
    question = TextAreaField(_l("What do you need to know?"))

    def more_info(self) -> MoreInfoRequest:
        return MoreInfoRequest(self.question.data or "")


class InfoAnswerForm(Form):
    answer = TextAreaField(_l("Your answer"))

    def info_answer(self, *, send: bool) -> InfoAnswer:
        return InfoAnswer(self.answer.data or "", send=send)


def score_sheet(
    formdata: Mapping[str, str], criteria: Sequence[Mapping[str, Any]], *, submit: bool
) -> ScoreSheet:
    """The review page's fields: one `score_<key>` per criterion of the rubric (the page is
    drawn from the call's rubric, so it has no form class)."""
    return ScoreSheet(
        scores={c["key"]: formdata.get(f"score_{c['key']}", "") for c in criteria},
        recommendation=formdata.get("recommendation"),
        comment=formdata.get("comment", ""),
        submit=submit,
    )
