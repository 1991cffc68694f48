"""The escalation form and the admin's catalog forms. Every rule lives in ``rules`` and is checked
the same way on submit and as each field is left (``validate_one``)."""
from flask_babel import lazy_gettext as _l
from wtforms import (BooleanField, HiddenField, IntegerField, MultipleFileField, RadioField,
                     SelectField, SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..errors import Invalid
from ..forms import BaseForm, choices
from ..models import PRIORITIES, PRIORITY_LABELS
from . import rules, service

FIELD_LABELS = {
    "requester": _l("Requester"),
    "requested_for": _l("Requested for"),
    "subject": _l("Subject line"),
    "description": _l("Description"),
    "troubleshooting": _l("Troubleshooting done"),
    "serial_number": _l("Serial number of the affected device"),
    "colleagues": _l("Do the user's colleagues have the same problem?"),
    "colleagues_note": _l("Note on colleagues"),
    "priority": _l("Priority level"),
    "attachments": _l("Attach a file"),
}
FORM_FIELDS = ("requester", "requested_for", "subject", "description", "troubleshooting",
               "serial_number", "colleagues", "colleagues_note", "priority", "attachments")


class EscalationForm(BaseForm):
    """The routine's form, in the routine's order. Build it with the catalog ``item`` (extra
    required fields, minimum lengths) and the organisation (whose people the names resolve to)."""

    form_token = HiddenField()
    requester = StringField(
        FIELD_LABELS["requester"],
        description=_l("Always the person who contacted support. Type a name or email and pick "
                       "from the list."))
    requested_for = StringField(
        FIELD_LABELS["requested_for"],
        description=_l("The person the request is for, when it is someone else: a manager orders "
                       "a mouse for a staff member; an assistant reports a colleague's broken "
                       "phone. Leave it empty when it is the requester."))
    subject = StringField(
        FIELD_LABELS["subject"],
        description=_l("Short and meaningful: what is wrong, and with what."))
    description = TextAreaField(
        FIELD_LABELS["description"],
        description=_l("As detailed as possible: what happens, since when, error messages word for "
                       "word, and what the user was doing when it happened."))
    troubleshooting = TextAreaField(
        FIELD_LABELS["troubleshooting"],
        description=_l("Every step that has been tried, and what happened after each one."))
    serial_number = StringField(
        FIELD_LABELS["serial_number"], filters=[rules.normalise_serial],
        description=_l("Required to escalate. Letters, digits and hyphens; spaces are removed."))
    colleagues = RadioField(
        FIELD_LABELS["colleagues"], validate_choice=False,
        choices=choices(list(rules.COLLEAGUE_LABELS.items())))
    colleagues_note = StringField(
        _l("Note (optional)"),
        description=_l("For example which colleagues, or since when."))
    priority = RadioField(
        FIELD_LABELS["priority"], validate_choice=False,
        description=_l("How urgent it is for the user."),
        choices=choices([(str(level), PRIORITY_LABELS[level]) for level in PRIORITIES]))
    attachments = MultipleFileField(FIELD_LABELS["attachments"])
    # Ticked (or the warning's "Send anyway" button) when the description and/or the
    # troubleshooting is shorter than the item's minimum and the agent sends it all the same: one
    # confirmation covers every short text. Its label names them (``confirm_short_label``).
    confirm_short = BooleanField()

    def __init__(self, *args, item, org, pending=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.item = item
        self.org = org
        self.pending = list(pending)
        self.people = {}
        for name in rules.OPTIONAL_FIELDS:
            if name in item.required_fields:
                getattr(self, name).flags.required = True
        for name in rules.ALWAYS_REQUIRED:
            getattr(self, name).flags.required = True

    # -- one validator per field, each calling the shared rule

    def _person(self, field, required):
        text = (field.data or "").strip()
        if not text:
            if required:
                raise ValidationError(rules.REQUIRED_MESSAGES[field.name])
            self.people[field.name] = None
            return
        try:
            self.people[field.name] = service.resolve_person(self.org, text, field.name)
        except Invalid as invalid:
            raise ValidationError(invalid.reasons[0][1])

    def validate_requester(self, field):
        self._person(field, True)

    def validate_requested_for(self, field):
        self._person(field, "requested_for" in self.item.required_fields)

    def validate_subject(self, field):
        _raise(rules.subject_problem(field.data))

    def validate_description(self, field):
        # Too short is a warning (``short_warning``), not a refusal.
        _raise(rules.detail_problem("description", field.data))

    def validate_troubleshooting(self, field):
        _raise(rules.detail_problem("troubleshooting", field.data))

    def validate_serial_number(self, field):
        _raise(rules.serial_problem(field.data))

    def validate_colleagues(self, field):
        _raise(rules.colleagues_problem(field.data))

    def validate_colleagues_note(self, field):
        _raise(rules.note_problem(field.data, "colleagues_note" in self.item.required_fields))

    def validate_priority(self, field):
        _raise(rules.priority_problem(field.data))

    def validate_attachments(self, field):
        if "attachments" in self.item.required_fields and not self.pending:
            raise ValidationError(rules.REQUIRED_MESSAGES["attachments"])

    def validate_one(self, name) -> bool:
        """Validate one field with exactly the validators the whole form uses."""
        field = getattr(self, name)
        return field.validate(self, extra_validators=[getattr(type(self), f"validate_{name}")])

    # -- the detail fields (description, troubleshooting): a short text is a warning

    def min_length(self, name):
        return rules.min_length(self.item, name)

    def text_length(self, name):
        return len((self[name].data or "").strip())

    def short_warning(self, name):
        """The warning when the field is written but shorter than the item's minimum."""
        return rules.short_detail_warning(name, self[name].data, self.min_length(name))

    def short_fields(self):
        """The detail fields that are written but short, in the form's order."""
        return rules.short_fields({name: self[name].data for name in rules.SHORT_DETAIL_FIELDS},
                                  self.item)

    def short_warnings(self):
        return [(name, self.short_warning(name)) for name in self.short_fields()]

    def confirm_short_label(self):
        """The confirmation's label, naming the short texts it lets through."""
        short = set(self.short_fields())
        if short == {"description", "troubleshooting"}:
            return _l("Send it anyway with the short description and troubleshooting")
        if short == {"troubleshooting"}:
            return _l("Send it anyway with this short troubleshooting text")
        return _l("Send it anyway with this short description")

    def needs_short_confirmation(self):
        """Sent with a too-short description or troubleshooting and without confirming it: warn,
        keep nothing."""
        return bool(self.short_fields()) and not self.confirm_short.data

    def help_for(self, name):
        """The item's own help for a field, shown after the field's standard help."""
        return self.item.help_texts.get(name, "")

    def values(self) -> service.FormValues:
        return service.FormValues(
            requester=self.people.get("requester"), requested_for=self.people.get("requested_for"),
            subject=self.subject.data or "", description=self.description.data or "",
            troubleshooting=self.troubleshooting.data or "",
            serial_number=self.serial_number.data or "", colleagues=self.colleagues.data or "",
            colleagues_note=self.colleagues_note.data or "", priority=int(self.priority.data))


def _raise(message):
    if message:
        raise ValidationError(message)


class NewContactForm(BaseForm):
    """A contact added from inside the escalation form (same request, prefix ``contact``)."""

    class Meta:
        csrf = False

    name = StringField(_l("Name"))
    email = StringField(_l("Email"))
    phone = StringField(_l("Phone"))
    locale = SelectField(_l("Language for email"), validators=[Optional()],
                         choices=choices([("", _l("The organisation's")), ("sv", "Svenska"),
                                          ("en", "English")]))
    use_as = RadioField(_l("Use as"), default="requester", validate_choice=False,
                        choices=choices([("requester", FIELD_LABELS["requester"]),
                                         ("requested_for", FIELD_LABELS["requested_for"])]))


class NextTierForm(BaseForm):
    tried = TextAreaField(_l("What this tier tried"),
                          description=_l("Every step taken at this tier, so the next one does not "
                                         "repeat it."))


class SendBackForm(BaseForm):
    reason = TextAreaField(_l("Why it goes back"),
                           description=_l("What is missing or what the tier below should do."))


class CategoryForm(BaseForm):
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)],
                       description=_l("Leave empty on a built-in category to keep its standard "
                                      "name in each language."))
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])
    archived = BooleanField(_l("Archived (hidden from the catalog)"))


class NewItemForm(BaseForm):
    category = SelectField(_l("Category"), validate_choice=True)
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=200)])


class ItemForm(BaseForm):
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)],
                       description=_l("Leave empty on a built-in item to keep its standard name "
                                      "in each language."))
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])
    min_description_length = IntegerField(
        _l("Minimum length of the description"), validators=[InputRequired(), NumberRange(0, 5000)])
    min_troubleshooting_length = IntegerField(
        _l("Minimum length of the troubleshooting"),
        validators=[InputRequired(), NumberRange(0, 5000)])
    required_fields = SelectMultipleField(
        _l("Also required for this item"), validate_choice=True,
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
        choices=choices([(name, FIELD_LABELS[name]) for name in rules.OPTIONAL_FIELDS]))
    archived = BooleanField(_l("Archived (hidden from the catalog)"))

    def help_fields(self):
        return [getattr(self, f"help_{name}") for name in FORM_FIELDS]

    def help_texts(self):
        return {name: getattr(self, f"help_{name}").data or "" for name in FORM_FIELDS}


for _name in FORM_FIELDS:
    setattr(ItemForm, f"help_{_name}", TextAreaField(
        FIELD_LABELS[_name], validators=[Optional(), Length(max=1000)]))


class PathStepForm(BaseForm):
    inbox = SelectField(_l("Inbox"), validate_choice=True)
