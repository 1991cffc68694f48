"""The reports' filter: a GET form (no CSRF: it changes nothing)."""
from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField
from wtforms.validators import Optional

from ..forms import BaseForm, choices
from ..models import TIER_LABELS, TIERS
from .service import MAX_DAYS


def optional_int(value):
    if value in ("", None):
        return None
    return int(value)


class ReportFilterForm(BaseForm):
    class Meta:
        csrf = False

    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()],
                    description=_l("Whole days in the organisation's time zone, both included."))
    inbox = SelectField(_l("Escalation inbox"), coerce=optional_int,
                        validators=[Optional()])
    tier = SelectField(_l("Tier"), coerce=optional_int, validators=[Optional()],
                       choices=choices([("", _l("All tiers"))]
                                       + [(str(t), TIER_LABELS[t]) for t in TIERS]))

    def set_inboxes(self, inboxes):
        self.inbox.choices = choices([("", _l("All inboxes"))]
                                     + [(str(i.id), f"{i.name} · {i.tier_label()}")
                                        for i in inboxes])

    # (first, last) for a date left empty; the view sets it (the last 30 days).
    default_period = (None, None)

    def period(self):
        return (self.start.data or self.default_period[0], self.end.data or self.default_period[1])

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        start, end = self.period()
        if valid and start and end:
            if end < start:
                self.end.errors = list(self.end.errors) + [
                    _l("The end of the period comes before its start.")]
                valid = False
            elif (end - start).days + 1 > MAX_DAYS:
                self.end.errors = list(self.end.errors) + [
                    _l("Choose a period of at most %(num)d days.", num=MAX_DAYS)]
                valid = False
        return valid
