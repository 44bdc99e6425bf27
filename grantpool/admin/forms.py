from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, SelectField, StringField
from wtforms.validators import Length, Optional

from ..accounts.rules import ROLE_LABELS
from ..platform.forms import CheckboxesField, Form


class UserRolesForm(Form):
    roles = CheckboxesField(_l("Roles"))
    fund_id = SelectField(
        _l("Limit fund roles to one fund (optional)"),
        description=_l(
            "Fund manager, finance officer, reviewer and panel "
            "roles apply to every fund unless you choose one."
        ),
    )
    donor_id = SelectField(_l("Donor (for donor viewers)"))
    organisation_id = SelectField(_l("Organisation this person acts for (optional)"))

    def set_choices(
        self,
        funds: list[tuple[int, str]],
        donors: list[tuple[int, str]],
        organisations: list[tuple[int, str]],
    ) -> None:
        self.roles.choices = [(k, str(v)) for k, v in ROLE_LABELS.items()]
        self.fund_id.choices = [("", "")] + [(str(i), n) for i, n in funds]
        self.donor_id.choices = [("", "")] + [(str(i), n) for i, n in donors]
        self.organisation_id.choices = [("", "")] + [(str(i), n) for i, n in organisations]


class InviteForm(UserRolesForm):
    email = EmailField(_l("Email address"), validators=[Length(max=320)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
