from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from ..platform.forms import Form


class LoginForm(Form):
    email = EmailField(_l("Email address"), validators=[DataRequired(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    remember = BooleanField(_l("Keep me signed in on this device"))
    next = HiddenField()


class PasswordResetRequestForm(Form):
    email = EmailField(_l("Email address"), validators=[DataRequired(), Length(max=320)])


class NewPasswordForm(Form):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired()],
        description=_l(
            "At least 12 characters. A few words in a row are easy to remember and hard to guess."
        ),
    )
    confirm = PasswordField(_l("Repeat the new password"), validators=[DataRequired()])


class AcceptInvitationForm(NewPasswordForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=200)])


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])


class LanguageForm(Form):
    locale = SelectField(_l("Language"))
    next = HiddenField()


class ApiTokenForm(Form):
    name = StringField(
        _l("Token name"),
        validators=[DataRequired(), Length(max=100)],
        description=_l("What will use it, e.g. 'KoBo sync' or 'finance export'."),
    )


class EmailOnlyForm(Form):
    """Ask for a sign-in link. It shares the sign-in page with the password form, so its
    field has an id of its own."""

    email = EmailField(
        _l("Email address"),
        id="link-email",
        description=_l("We send a link and a six-digit code. No password needed."),
    )
    next = HiddenField()
