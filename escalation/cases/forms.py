"""One form per user action on cases and contacts."""
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SearchField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..forms import BaseForm, choices
from ..models import CASE_STATUS_LABELS, LOCALE_LABELS, PRIORITY_LABELS
from .service import MAX_BODY, NOTE_MAX

LOCALE_CHOICES = [("", _l("Not known"))] + list(LOCALE_LABELS.items())
THEN_CHOICES = [("", _l("Keep the status")), ("waiting", _l("Wait for the requester")),
                ("resolved", _l("Resolve the case"))]
CHANNEL_CHOICES = [("phone", _l("Phone call")), ("email", _l("Email")),
                   ("in_person", _l("In person")), ("other", _l("Other"))]


def _body(label, message):
    return TextAreaField(label, validators=[DataRequired(message=message),
                                            Length(max=MAX_BODY)])


class ActionForm(BaseForm):
    """A form on the case page. ``next=queue`` keeps the member in their queue's flow."""

    next = HiddenField()

    @property
    def from_queue(self):
        return self.next.data == "queue"


def _resolution_note():
    """Needed when the form resolves the case (checked by the service, so the message is the
    same everywhere)."""
    return TextAreaField(_l("Resolution note"),
                         description=_l("Needed to resolve: what solved the problem. The "
                                        "requester sees it in the email that asks them to "
                                        "confirm."),
                         validators=[Optional(), Length(max=NOTE_MAX)])


class ReplyForm(ActionForm):
    body = _body(_l("Reply to the contact"), _l("Write a reply before sending it."))
    then = SelectField(_l("And then"), choices=choices(THEN_CHOICES), default="",
                       validators=[Optional()])
    note = _resolution_note()

    @property
    def resolves(self):
        return self.then.data == "resolved"


class NoteForm(ActionForm):
    body = _body(_l("Internal note"), _l("Write the note before saving it."))


class InboundForm(ActionForm):
    body = _body(_l("What the contact said"), _l("Write down what the contact said."))
    channel = SelectField(_l("How"), choices=choices(CHANNEL_CHOICES), default="phone")


class StatusForm(ActionForm):
    status = SelectField(_l("Status"), choices=choices(CASE_STATUS_LABELS.items()),
                         validators=[InputRequired()])
    note = _resolution_note()

    @property
    def resolves(self):
        return self.status.data == "resolved"


class PriorityForm(ActionForm):
    priority = SelectField(_l("Priority"), coerce=int, choices=choices(PRIORITY_LABELS.items()),
                           validators=[InputRequired()])


class ReassignForm(ActionForm):
    """``assignee`` is a member id, or "" for the queue's pool. Choices are set per request."""

    assignee = SelectField(_l("Give the case to"), validate_choice=True, validators=[Optional()])


class TakeForm(ActionForm):
    pass


class RequestMoreForm(BaseForm):
    pass


class ContactForm(BaseForm):
    name = StringField(_l("Name"), validators=[
        DataRequired(message=_l("Enter the contact's name.")), Length(max=200)])
    email = EmailField(_l("Email"), validators=[Optional(), Length(max=254)])
    phone = TelField(_l("Phone"), validators=[Optional(), Length(max=50)])
    locale = SelectField(_l("Preferred language"), choices=choices(LOCALE_CHOICES), default="",
                         validators=[Optional()])


class NewCaseForm(BaseForm):
    """A case taken on the phone or at the desk. The requester (and, optionally, the person it is
    for) is an existing contact picked from a search (``requester`` holds its id) or a new
    contact typed in (``requester`` is "new" or empty, with the ``requester_*`` fields)."""

    requester = StringField(_l("Requester"))
    requester_q = SearchField(_l("Find the requester"), validators=[Optional()])
    requester_name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    requester_email = EmailField(_l("Email"), validators=[Optional(), Length(max=254)])
    requester_phone = TelField(_l("Phone"), validators=[Optional(), Length(max=50)])
    requester_locale = SelectField(_l("Preferred language"), choices=choices(LOCALE_CHOICES),
                                   default="", validators=[Optional()])

    requested_for = StringField(_l("Requested for"))
    requested_for_q = SearchField(_l("Find the person it is for"), validators=[Optional()])
    requested_for_name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    requested_for_email = EmailField(_l("Email"), validators=[Optional(), Length(max=254)])
    requested_for_phone = TelField(_l("Phone"), validators=[Optional(), Length(max=50)])
    requested_for_locale = SelectField(_l("Preferred language"), choices=choices(LOCALE_CHOICES),
                                       default="", validators=[Optional()])

    subject = StringField(_l("Subject"), description=_l("A short, meaningful title."),
                          validators=[DataRequired(message=_l("Give the case a short, meaningful "
                                                               "subject.")),
                                      Length(max=200)])
    description = TextAreaField(_l("Description"),
                                description=_l("As much detail as possible, in the contact's "
                                               "words."),
                                validators=[DataRequired(message=_l("Describe what the contact "
                                                                    "needs.")),
                                            Length(max=MAX_BODY)])
    channel = SelectField(_l("How did they get in touch?"), choices=choices(CHANNEL_CHOICES),
                          default="phone")
    queue = SelectField(_l("Queue"), coerce=int, validators=[InputRequired(
        message=_l("Choose one of your queues."))])
    priority = SelectField(_l("Priority"), coerce=int, choices=choices(PRIORITY_LABELS.items()),
                           default=2)
    assign_to_me = BooleanField(_l("Assign to me"), default=True)

    PEOPLE = ("requester", "requested_for")

    def picked(self, role):
        """The picked contact id, or None."""
        value = (getattr(self, role).data or "").strip()
        return int(value) if value.isdigit() else None

    def typed_new(self, role):
        return any((getattr(self, f"{role}_{name}").data or "").strip()
                   for name in ("name", "email", "phone"))

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        for role in self.PEOPLE:
            valid = self._check_person(role, required=role == "requester") and valid
        return valid

    def _check_person(self, role, *, required):
        field = getattr(self, role)
        name = getattr(self, f"{role}_name")
        value = (field.data or "").strip()
        if value not in ("", "new") and not value.isdigit():
            field.errors.append(_l("Choose a contact from the list."))
        elif value.isdigit() and self.typed_new(role):
            field.errors.append(_l("You picked a contact and also typed a new one: keep one."))
        elif not value.isdigit() and not (name.data or "").strip() \
                and (required or value == "new" or self.typed_new(role)):
            name.errors.append(_l("Enter the new contact's name, or pick a contact from the "
                                  "search."))
        else:
            return True
        return False
