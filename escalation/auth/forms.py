from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from ..forms import BaseForm, choices
from ..models import LOCALE_LABELS

TIMEZONES = ["Europe/Stockholm", "Europe/Helsinki", "Europe/Oslo", "Europe/Copenhagen",
             "Europe/London", "Europe/Madrid", "America/New_York", "America/Chicago",
             "America/Los_Angeles", "UTC"]


class LoginForm(BaseForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    next = StringField(render_kw={"hidden": True})


class PreferencesForm(BaseForm):
    locale = SelectField(_l("Language"), choices=choices([("", _l("As my browser says"))]
                                                         + list(LOCALE_LABELS.items())), validators=[Optional()])
    timezone = SelectField(_l("Time zone"), choices=choices([("", _l("The organisation's"))]
                                                           + [(tz, tz) for tz in TIMEZONES]), validators=[Optional()])


class PasswordForm(BaseForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=10, max=200)])
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), EqualTo("new_password", message=_l("The passwords do not match."))])
