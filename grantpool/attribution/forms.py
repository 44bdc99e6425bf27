"""The attribution pages' forms: how the partner is credited, its consent, what the fund
adds to a record, and the safety flag. Each reads what was typed into a command
(commands.py); the services check the rest."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    Field,
    FileField,
    HiddenField,
    RadioField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length
from wtforms.widgets import DateInput

from ..platform.forms import Form
from ..platform.i18n import LANGUAGE_NAMES
from .commands import (
    THEME_MAX,
    ConsentChange,
    CreditSettings,
    Logo,
    RecordDetails,
    SafetyFlag,
    consent_change,
    credit_settings,
    languages,
    record_details,
    safety_flag,
)
from .models import AttributionRecord, AttributionSettings
from .rules import NAMING_LABELS, PRECISION_LABELS, SCOPE_LABELS

_WORDS = ("description", "anonymised_description")


class CreditSettingsForm(Form):
    """How the partner wants to be credited (its organisation's default, or one grant's
    own choice). The words fields, one per interface language, are added by
    `credit_settings_form`."""

    naming = RadioField(_l("How to be named"), validate_choice=False)
    location_precision = RadioField(
        _l("How precisely to show where you work"),
        description=_l(
            "This applies to every output, totals and charts included: with “Country only”, "
            "no figure counts you under your region."
        ),
        validate_choice=False,
    )
    logo = FileField(
        _l("Logo (an image; shown only when you are named)"),
        render_kw={"accept": "image/png,image/jpeg"},
    )
    remove_logo = BooleanField(_l("Remove the logo"))
    # On a grant's page only, when the grant has its own choice.
    use_default = BooleanField(_l("Use my organisation's choice instead"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.naming.choices = [SelectChoice(n.value, str(t)) for n, t in NAMING_LABELS.items()]
        self.location_precision.choices = [
            SelectChoice(p.value, str(t)) for p, t in PRECISION_LABELS.items()
        ]

    def words(self, kind: str) -> list[Field]:
        """The words fields of one kind (description, anonymised_description)."""
        return [self[f"{kind}_{code}"] for code in languages() if f"{kind}_{code}" in self]

    def _texts(self, kind: str) -> dict[str, object]:
        return {f.name.removeprefix(f"{kind}_"): f.data for f in self.words(kind)}

    def command(self) -> CreditSettings:
        return credit_settings(
            naming=self.naming.data,
            location_precision=self.location_precision.data,
            descriptions=self._texts("description"),
            anonymised_descriptions=self._texts("anonymised_description"),
            remove_logo=self.remove_logo.data,
        )

    def logo_upload(self) -> Logo | None:
        upload = self.logo.data
        if upload is None or not getattr(upload, "filename", None):
            return None
        return Logo(upload.stream)


@lru_cache(maxsize=8)
def _settings_form_class(codes: tuple[str, ...]) -> type[CreditSettingsForm]:
    fields: dict[str, Any] = {}
    for code in codes:
        name = LANGUAGE_NAMES.get(code, code)
        fields[f"description_{code}"] = TextAreaField(name, render_kw={"lang": code, "rows": 5})
        fields[f"anonymised_description_{code}"] = TextAreaField(
            name, render_kw={"lang": code, "rows": 4}
        )
    return type("CreditSettingsForm", (CreditSettingsForm,), fields)


def credit_settings_form(
    saved: AttributionSettings | None = None, **kwargs: Any
) -> CreditSettingsForm:
    """The settings form for the interface languages: as posted, or (`saved`, with
    formdata=None) showing what is saved."""
    data: dict[str, Any] = {}
    if saved is not None:
        data = {"naming": saved.naming, "location_precision": saved.location_precision}
        for kind, texts in zip(
            _WORDS, (saved.descriptions, saved.anonymised_descriptions), strict=True
        ):
            data.update({f"{kind}_{code}": text for code, text in (texts or {}).items()})
    return _settings_form_class(languages())(data=data, **kwargs)


class ConsentForm(Form):
    """Consent given with its scope and perhaps an embargo; the same form withdraws it
    (state only)."""

    state = HiddenField()
    scope = RadioField(_l("Publish this grant"), validate_choice=False)
    embargo_until = StringField(_l("Not before (optional)"), widget=DateInput())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope.choices = [SelectChoice(s.value, str(t)) for s, t in SCOPE_LABELS.items()]

    def command(self) -> ConsentChange:
        return consent_change(
            state=self.state.data, scope=self.scope.data, embargo_until=self.embargo_until.data
        )


class SafetyForm(Form):
    """Set (flag with a reason) or lift (no flag) a safety flag."""

    flag = BooleanField()
    reason = StringField(
        _l("Why must the partner be hidden?"),
        description=_l(
            "Hiding the partner hides every grant, record, certificate, page and open-data "
            "entry of this organisation, in every fund, from the next request on."
        ),
    )

    def command(self) -> SafetyFlag:
        return safety_flag(flag=self.flag.data, reason=self.reason.data)


class RecordDetailsForm(Form):
    """What the fund adds to a grant's record."""

    theme = StringField(_l("Theme"), validators=[Length(max=THEME_MAX)])
    humanitarian = BooleanField(_l("Humanitarian"))
    capacity_provided = TextAreaField(_l("Capacity strengthening provided"), render_kw={"rows": 3})

    @classmethod
    def of(cls, record: AttributionRecord | None, theme_answered: str) -> RecordDetailsForm:
        """What is saved, or the applicant's theme until the fund has classified it."""
        return cls(
            formdata=None,
            data={
                "theme": (record.theme if record else None) or theme_answered,
                "humanitarian": bool(record and record.humanitarian),
                "capacity_provided": (record.capacity_provided if record else None) or "",
            },
        )

    def describe(self, theme_answered: str, capacity_asked: str) -> None:
        """Hints from the application: the theme the applicant gave, the capacity it asked for."""
        hint = _(
            "The fund's classification: the dashboard, the public pages and the open data "
            "all use it."
        )
        if theme_answered:
            hint += " " + _("The applicant answered: %(theme)s", theme=theme_answered)
        self.theme.description = hint
        if capacity_asked:
            self.capacity_provided.description = _(
                "The partner asked for: %(asked)s", asked=capacity_asked
            )

    def command(self) -> RecordDetails:
        return record_details(
            theme=self.theme.data,
            humanitarian=self.humanitarian.data,
            capacity_provided=self.capacity_provided.data,
        )
