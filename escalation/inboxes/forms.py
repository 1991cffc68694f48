"""One form per action on escalation inboxes (issue 3)."""
from flask_babel import lazy_gettext as _l
from wtforms import (HiddenField, IntegerField, RadioField, SelectField, SelectMultipleField,
                     StringField, TextAreaField)
from wtforms.validators import (DataRequired, InputRequired, Length, NumberRange, Optional,
                                ValidationError)
from wtforms.widgets import CheckboxInput, ListWidget

from ..cases.service import NOTE_MAX, NOTE_NEEDED
from ..forms import BaseForm, choices
from ..models import TIER_LABELS, TIERS
from . import service

REASON_HELP = _l("Say what the inbox's owners need to know: what was tried, what is needed.")


def inbox_choices(inboxes, *, placeholder=True):
    """A select's choices for live inboxes: "name (tier)"."""
    pairs = [(str(i.id), f"{i.name} · {i.tier_label()}") for i in inboxes]
    if placeholder:
        pairs.insert(0, ("", _l("Choose an inbox")))
    return choices(pairs)


def _choose_inbox():
    # A choice that left the list meanwhile (a deleted inbox) is answered by the view.
    return SelectField(_l("Inbox"), validators=[InputRequired(message=_l("Choose an inbox."))],
                       choices=[], validate_choice=False)


class ActionForm(BaseForm):
    """A button that only needs the CSRF token (claim, release, switch view)."""


class EscalateForm(BaseForm):
    inbox = _choose_inbox()
    reason = TextAreaField(_l("Reason"), description=REASON_HELP,
                           validators=[InputRequired(message=_l("Say why the case is escalated.")),
                                       Length(max=service.REASON_MAX)])
    message = TextAreaField(_l("Last message to the contact (optional)"),
                            description=_l("Sent to the contact together with the escalation, "
                                           "for example that a specialist will get in touch."),
                            validators=[Optional(), Length(max=service.MESSAGE_MAX)])


class BulkEscalateForm(BaseForm):
    """The threads view's "Escalate selected" (rendered inside that view's bulk form)."""

    inbox = _choose_inbox()
    reason = TextAreaField(_l("Reason"), description=REASON_HELP,
                           validators=[InputRequired(
                               message=_l("Say why the cases are escalated.")),
                               Length(max=service.REASON_MAX)])


class MoveForm(BaseForm):
    PREFIX = "move"
    inbox = SelectField(_l("Move to"), validators=[InputRequired(message=_l("Choose an inbox."))],
                        choices=[], validate_choice=False)
    reason = TextAreaField(_l("Reason (optional)"),
                           validators=[Optional(), Length(max=service.REASON_MAX)])


class DeEscalateForm(BaseForm):
    PREFIX = "back"
    to = RadioField(_l("Back to"), validators=[InputRequired(message=_l("Choose where the case "
                                                                         "goes back to."))],
                    choices=[])
    reason = TextAreaField(_l("Reason (optional)"),
                           validators=[Optional(), Length(max=service.REASON_MAX)])

    def offer(self, queue, agent):
        """Back to the origin agent (only while they are an active member of the queue), or the
        queue's pool; the first choice is preselected on a fresh form."""
        options = []
        if agent is not None:
            options.append(("agent", _l("Back to %(agent)s in %(queue)s", agent=agent.name,
                                        queue=queue.name)))
        options.append(("pool", _l("Back to the pool of %(queue)s", queue=queue.name)))
        self.to.choices = choices(options)
        if not self.is_submitted():
            self.to.data = options[0][0]


class ResolveForm(BaseForm):
    """Resolving always needs the resolution note (the service checks it and says so)."""
    PREFIX = "resolve"
    note = TextAreaField(_l("Resolution note"),
                         description=_l("What solved the problem. The requester sees it in the "
                                        "email that asks them to confirm."),
                         validators=[DataRequired(message=NOTE_NEEDED), Length(max=NOTE_MAX)])


DURATION_UNITS = {"minutes": 1, "hours": 60, "days": 24 * 60}


class InboxForm(BaseForm):
    name = StringField(_l("Name"), validators=[InputRequired(message=_l("Give the inbox a name.")),
                                               Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)],
                                description=_l("What kind of escalation belongs here."))
    tier = SelectField(_l("Tier"), choices=choices([(str(t), TIER_LABELS[t]) for t in TIERS]),
                       default="2")
    owners = SelectMultipleField(
        _l("Owners"), choices=[], widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        description=_l("At least one. Owners claim the inbox's cases."),
        validators=[InputRequired(message=_l("Choose at least one owner."))])
    batch_size = IntegerField(
        _l("Batch size"), default=5,
        description=_l("How many cases one owner may hold at a time (1–100)."),
        validators=[InputRequired(message=_l("Give a number from 1 to 100.")),
                    NumberRange(min=service.BATCH_SIZE_MIN, max=service.BATCH_SIZE_MAX,
                                message=_l("Give a number from 1 to 100."))])
    duration_amount = IntegerField(
        _l("Assignment duration"), default=1,
        description=_l("How long a claim lasts before the case returns to the inbox "
                       "(5 minutes to 7 days)."),
        validators=[InputRequired(message=_l("Give a whole number."))])
    duration_unit = SelectField(_l("Unit"), default="hours", choices=choices([
        ("minutes", _l("minutes")), ("hours", _l("hours")), ("days", _l("days"))]))

    def set_owner_choices(self, members):
        self.owners.choices = choices([(str(m.id), f"{m.name} ({m.role_label()})")
                                       for m in members])

    @property
    def assignment_minutes(self):
        unit = DURATION_UNITS.get(self.duration_unit.data, 0)
        return (self.duration_amount.data or 0) * unit

    def validate_duration_amount(self, field):
        if field.data is not None and not (service.ASSIGNMENT_MINUTES_MIN <= self.assignment_minutes
                                           <= service.ASSIGNMENT_MINUTES_MAX):
            raise ValidationError(_l("The assignment duration must be between 5 minutes and "
                                     "7 days."))

    def fill_from(self, inbox):
        self.name.data = inbox.name
        self.description.data = inbox.description
        self.tier.data = str(inbox.tier)
        self.batch_size.data = inbox.batch_size
        minutes = inbox.assignment_minutes
        for unit in ("days", "hours", "minutes"):
            if minutes % DURATION_UNITS[unit] == 0:
                self.duration_amount.data = minutes // DURATION_UNITS[unit]
                self.duration_unit.data = unit
                break
        self.owners.data = [str(o.member_id) for o in inbox.owners]

    def populate_errors(self, invalid):
        """The service names the duration in minutes; here it is typed as amount and unit."""
        invalid.reasons = [("duration_amount" if name == "assignment_minutes" else name, message)
                           for name, message in invalid.reasons]
        super().populate_errors(invalid)

    def service_fields(self):
        return dict(name=self.name.data, description=self.description.data or "",
                    tier=int(self.tier.data), batch_size=self.batch_size.data,
                    assignment_minutes=self.assignment_minutes,
                    owners=[int(v) for v in self.owners.data or ()])


class DeleteInboxForm(BaseForm):
    token = HiddenField()
