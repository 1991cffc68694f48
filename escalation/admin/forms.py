"""One form per admin action. Choices that depend on the actor or the organisation are set by
the view (``set_*`` methods)."""
from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms import BaseForm, choices
from ..models import LOCALE_LABELS, ROLE_LABELS, TIER_LABELS

EMAIL = Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Enter an email address."))


def language_choices():
    return choices([("", _l("As their browser says"))] + list(LOCALE_LABELS.items()))


class RoleChoices:
    def set_roles(self, roles):
        self.role.choices = choices([(role, ROLE_LABELS[role]) for role in roles])


class AddMemberForm(RoleChoices, BaseForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254), EMAIL])
    role = SelectField(_l("Role"), default="agent")
    locale = SelectField(_l("Preferred language"), choices=language_choices(), default="")
    password = PasswordField(
        _l("Initial password"), validators=[Optional(), Length(min=10, max=200)],
        description=_l("Only for a person without an account. Someone who already has one "
                       "keeps their own password and language."))


class MemberForm(RoleChoices, BaseForm):
    role = SelectField(_l("Role"))
    locale = SelectField(_l("Preferred language"), choices=language_choices(), default="")


class ConfirmForm(BaseForm):
    """A button that changes state: only the CSRF token (and domain errors to show)."""


class QueueForm(BaseForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    tier = SelectField(_l("Tier"), coerce=int, default=1,
                       choices=choices(list(TIER_LABELS.items())))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class QueueAgentsForm(BaseForm):
    agents = MultiCheckboxField(_l("Agents of this queue"), coerce=int)

    def set_members(self, members):
        self.agents.choices = choices([(m.id, f"{m.name} ({m.role_label()})") for m in members])


class OrganisationForm(BaseForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    default_locale = SelectField(_l("Default language"),
                                 choices=choices(list(LOCALE_LABELS.items())))
    timezone = SelectField(_l("Time zone"))

    def set_time_zones(self, zones):
        self.timezone.choices = choices([(zone, zone) for zone in zones])
