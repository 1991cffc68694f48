"""The threads view's filter: a GET form (no CSRF: it changes nothing)."""
from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SearchField, SelectField, SelectMultipleField, ValidationError
from wtforms.validators import Length, NumberRange, Optional

from ..forms import BaseForm, choices
from ..models import CASE_STATUS_LABELS, PRIORITY_LABELS, REPLY_STATUS_LABELS
from .queries import ANY_INBOX, UNASSIGNED, ThreadFilter


def optional_int(value):
    """"" (all) becomes None; anything else must be a whole number."""
    if value in ("", None):
        return None
    return int(value)


def assignee_value(value):
    if value == UNASSIGNED:
        return UNASSIGNED
    return optional_int(value)


def _inbox_values(form, field):
    for value in field.data or ():
        if value != ANY_INBOX and not value.isdigit():
            raise ValidationError(_l("Choose escalation inboxes from the list."))


class ThreadFilterForm(BaseForm):
    class Meta:
        csrf = False

    q = SearchField(_l("Search"), validators=[Optional(), Length(max=200)],
                    render_kw={"placeholder": _l("Subject, contact name or email")})
    queue = SelectField(_l("Queue"), coerce=optional_int, validate_choice=False)
    status = SelectField(_l("Status"), default="", choices=choices(
        [("", _l("All statuses"))] + list(CASE_STATUS_LABELS.items())))
    reply = SelectField(_l("Reply status"), default="", choices=choices(
        [("", _l("All reply statuses"))] + list(REPLY_STATUS_LABELS.items())))
    assignee = SelectField(_l("Assignee"), coerce=assignee_value, validate_choice=False)
    priority = SelectField(_l("Priority"), coerce=optional_int, choices=choices(
        [("", _l("All priorities"))] + list(PRIORITY_LABELS.items())))
    inbox = SelectMultipleField(_l("Escalation inboxes"), validate_choice=False,
                                validators=[_inbox_values])
    older = IntegerField(validators=[Optional(), NumberRange(min=1)])
    newer = IntegerField(validators=[Optional(), NumberRange(min=0)])

    def set_choices(self, queues, members):
        self.queue.choices = choices([("", _l("All queues"))] + queues)
        self.assignee.choices = choices([("", _l("Anyone")), (UNASSIGNED, _l("Unassigned"))]
                                        + members)

    def thread_filter(self) -> ThreadFilter:
        return ThreadFilter(
            q=(self.q.data or "").strip(), queue=self.queue.data, status=self.status.data or None,
            reply=self.reply.data or None, assignee=self.assignee.data,
            priority=self.priority.data, inboxes=tuple(self.inbox.data or ()))

    def is_filtered(self) -> bool:
        return self.thread_filter() != ThreadFilter()
