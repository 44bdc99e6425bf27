from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField, TextAreaField

from ..platform.forms import Form


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


class ConflictForm(Form):
    # Radios drawn by the template (choices: no, yes).
    has_conflict = StringField(_l("Do you have a conflict of interest with this application?"))
    nature = TextAreaField(
        _l("If yes, what is the conflict?"),
        description=_l("For example a family tie, a job or money shared with the organisation."),
    )


class ProposeForm(Form):
    kind = StringField(_l("Decision"))  # radios drawn by the template: award, decline
    amount = StringField(_l("Amount to award"))
    reason = TextAreaField(_l("Reasons (for the fund manager who confirms)"))
    feedback_text = TextAreaField(
        _l("Feedback for the applicant, in its language"),
        description=_l("Added after the reasons you tick. Write what would help next time."),
    )


class RejectForm(Form):
    note = TextAreaField(_l("Why do you reject this proposal?"))


class InfoRequestForm(Form):
    question = TextAreaField(_l("What do you need to know?"))


class InfoAnswerForm(Form):
    answer = TextAreaField(_l("Your answer"))
