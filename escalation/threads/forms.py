"""The threads view's filter: a GET form (no CSRF: it changes nothing)."""
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import IntegerField, SearchField, SelectField, SelectMultipleField, ValidationError
from wtforms.validators import Length, NumberRange, Optional
from wtforms.widgets import Select
from wtforms.widgets import core as widgets_core

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


class QuickSelect(Select):
    """WTForms' ``Select`` with the same markup, written in one pass: the filter offers every
    queue and member (over a hundred options), and building each option through
    ``render_option`` (attributes, a ``Choice`` each, labels translated twice) was a large share
    of the page's time. Anything but plain choices of a ``SelectField`` goes to WTForms."""

    def __call__(self, field, **kwargs):
        if type(field).iter_choices is not SelectField.iter_choices or field.has_groups():
            return super().__call__(field, **kwargs)
        options = field._choices_from_input(field.choices) or []
        if any(choice.render_kw for choice in options):
            return super().__call__(field, **kwargs)
        kwargs.setdefault("id", field.id)
        if self.multiple:
            kwargs["multiple"] = True
        flags = getattr(field, "flags", {})
        for k in dir(flags):
            if k in self.validation_attrs and k not in kwargs:
                kwargs[k] = getattr(flags, k)
        html = [f"<select {widgets_core.html_params(name=field.name, **kwargs)}>"]
        data, coerce = field.data, field.coerce
        for choice in options:
            value = str(choice.value) if isinstance(choice.value, bool) else choice.value
            label = escape(choice.label) if choice.label is not None else ""
            selected = "selected " if coerce(choice.value) == data else ""
            html.append(f'<option {selected}value="{escape(value)}">'
                        f"{label or escape(choice.value)}</option>")
        html.append("</select>")
        return Markup("".join(html))


class ThreadFilterForm(BaseForm):
    class Meta:
        csrf = False

    q = SearchField(_l("Search"), validators=[Optional(), Length(max=200)],
                    render_kw={"placeholder": _l("Subject, contact name or email")})
    queue = SelectField(_l("Queue"), coerce=optional_int, validate_choice=False,
                        widget=QuickSelect())
    status = SelectField(_l("Status"), default="", widget=QuickSelect(), choices=choices(
        [("", _l("All statuses"))] + list(CASE_STATUS_LABELS.items())))
    reply = SelectField(_l("Reply status"), default="", widget=QuickSelect(), choices=choices(
        [("", _l("All reply statuses"))] + list(REPLY_STATUS_LABELS.items())))
    assignee = SelectField(_l("Assignee"), coerce=assignee_value, validate_choice=False,
                           widget=QuickSelect())
    priority = SelectField(_l("Priority"), coerce=optional_int, widget=QuickSelect(),
                           choices=choices([("", _l("All priorities"))]
                                           + list(PRIORITY_LABELS.items())))
    inbox = SelectMultipleField(_l("Escalation inboxes"), validate_choice=False,
                                validators=[_inbox_values])
    # The pager's cursors (never shown as fields; a label of their own spares WTForms loading
    # its catalog on every request to title them).
    older = IntegerField(_l("Older"), validators=[Optional(), NumberRange(min=1)])
    newer = IntegerField(_l("Newer"), validators=[Optional(), NumberRange(min=0)])

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
