"""One form per user action of the handoff area."""
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (BooleanField, HiddenField, IntegerField, SelectChoice, SelectField,
                     StringField, TextAreaField)
from wtforms.fields import EmailField, URLField
from wtforms.validators import (URL, DataRequired, InputRequired, Length, NumberRange, Optional,
                                Regexp)

from ..forms import BaseForm, choices
from .models import VALUE_KIND_LABELS, VALUE_KINDS
from .service import MAX_CODE_MINUTES, MIN_CODE_MINUTES

PHOTO_ACCEPT = "image/jpeg,image/png,image/webp,image/heic,image/heif,image/*"


class CodeForm(BaseForm):
    code = StringField(_l("Handoff code"), validators=[DataRequired(), Length(max=40)],
                       description=_l("8 letters, like BCDF-GHJK. Upper or lower case, with or "
                                      "without the dash."))


class TakeOverForm(BaseForm):
    code = HiddenField(validators=[DataRequired(), Length(max=40)])


class IssueCodeForm(BaseForm):
    pass


class ActionForm(BaseForm):
    """A bare POST (revoke, finish, archive, dismiss): only the CSRF token."""


def checklist_label(checklist):
    return checklist.name + (f" ({checklist.applies_to})" if checklist.applies_to else "")


class StartSessionForm(BaseForm):
    checklist = SelectField(_l("Checklist"), validators=[Optional()])

    def set_checklists(self, groups, *, preselect=False):
        """The options from ``checklists.checklists_for_case``: one optgroup per group, the
        suggested ones first; ``preselect`` (a fresh form) chooses the first suggestion."""
        options = [SelectChoice("", str(_l("No checklist: notes and photos only")))]
        for group in groups:
            options += [SelectChoice(str(c.id), checklist_label(c), optgroup=group.label)
                        for c in group.rows]
        self.checklist.choices = options
        suggested = [g for g in groups if g.kind in ("item", "category")]
        if preselect and suggested:
            self.checklist.data = str(suggested[0].rows[0].id)


class StepForm(BaseForm):
    done = BooleanField(_l("Done"))
    value = StringField(_l("Value"), validators=[Optional(), Length(max=5000)])


class NotesForm(BaseForm):
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=20000)],
                          description=_l("Saved when you leave the field."))


class PhotoForm(BaseForm):
    photo = FileField(_l("Add a photo"))


class ChecklistForm(BaseForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    # Checked by the service against the organisation's own catalog (a clear message there).
    catalog = SelectField(_l("Catalog item or category"), validate_choice=False,
                          validators=[Optional()],
                          description=_l("Workers see this checklist first on cases that came "
                                         "in through this item or category."))
    applies_to = StringField(_l("Applies to"), validators=[Optional(), Length(max=200)],
                             description=_l("Free text shown with the name, e.g. a model or a "
                                            "site."))
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])

    def set_catalog(self, options):
        self.catalog.choices = options


class ChecklistStepForm(BaseForm):
    title = StringField(_l("Step"), validators=[DataRequired(), Length(max=200)])
    help = TextAreaField(_l("Instructions"), validators=[Optional(), Length(max=5000)])
    value_kind = SelectField(_l("Value to record"), default="none",
                             choices=choices([(k, VALUE_KIND_LABELS[k]) for k in VALUE_KINDS]))
    choices_text = TextAreaField(_l("Choices"), validators=[Optional(), Length(max=5000)],
                                 description=_l("For a choice: one option per line."))
    photo_required = BooleanField(_l("A photo is required"))


class RoutingEntryForm(BaseForm):
    asset_type = StringField(_l("Machine or asset type"), validators=[Optional(), Length(max=200)])
    issue = StringField(_l("Issue"), validators=[Optional(), Length(max=200)])
    keywords = StringField(_l("Keywords"), validators=[Optional(), Length(max=500)],
                           description=_l("Words people search for, separated by spaces."))
    # Checked by the service against the organisation's own catalog (a clear message there).
    catalog = SelectField(_l("Catalog item or category"), validate_choice=False,
                          validators=[Optional()],
                          description=_l("From a case that came in through this item or "
                                         "category, the entry is suggested first."))
    contact_name = StringField(_l("Contact person"), validators=[Optional(), Length(max=200)])
    department = StringField(_l("Department"), validators=[Optional(), Length(max=200)])
    email = EmailField(_l("Email"), validators=[
        Optional(), Length(max=254),
        Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Enter an email address."))])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=50)])
    help_url = URLField(_l("Internal help site"), validators=[
        Optional(), Length(max=500), URL(message=_l("Enter an address starting with https://."))])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])
    inbox = SelectField(_l("Inbox to escalate into"), validators=[Optional()])

    def set_inboxes(self, inboxes):
        self.inbox.choices = choices([("", _l("None"))] + [(str(i.id), i.name) for i in inboxes])

    def set_catalog(self, options):
        self.catalog.choices = options


class UseEntryForm(BaseForm):
    case_id = HiddenField(validators=[InputRequired()])


class EntryEscalateForm(UseEntryForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])


class EscalateForm(BaseForm):
    inbox = SelectField(_l("Inbox"), validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])

    def set_inboxes(self, inboxes):
        self.inbox.choices = choices([("", _l("Choose an inbox"))] + [(str(i.id), i.name) for i in inboxes])


class SettingsForm(BaseForm):
    code_minutes = IntegerField(
        _l("Handoff codes last (minutes)"),
        validators=[InputRequired(), NumberRange(min=MIN_CODE_MINUTES, max=MAX_CODE_MINUTES)],
        description=_l("Between 2 and 60 minutes. 10 is the default."))
