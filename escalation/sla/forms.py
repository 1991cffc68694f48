"""Forms of the SLA area, one per user action."""
import re

from flask_babel import lazy_gettext as _l
from wtforms import (BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, \
    ValidationError

from ..forms import BaseForm, choices
from ..models import LOCALE_LABELS, PRIORITY_LABELS
from .models import STEP_ACTIONS

WEEKDAY_LABELS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
                  _l("Saturday"), _l("Sunday"))
COUNTRIES = (("SE", _l("Sweden")), ("NO", _l("Norway")), ("DK", _l("Denmark")),
             ("FI", _l("Finland")), ("DE", _l("Germany")), ("GB", _l("United Kingdom")),
             ("US", _l("United States")), ("", _l("No public holidays")))
CLOCK_KIND_LABELS = (("first_response", _l("First response")),
                     ("next_response", _l("Next response")),
                     ("resolution", _l("Resolution")))
ACTION_LABELS = {
    "notify_claimant": _l("Notify the claimant (or the agent)"),
    "notify_owners": _l("Notify the inbox owners (or the leads)"),
    "release_claim": _l("Release the claim"),
    "escalate_next": _l("Escalate to the next tier in the path"),
    "raise_priority": _l("Raise the priority"),
}
TRIGGER_LABELS = (("percent", _l("At a percentage of the target")),
                  ("after_breach", _l("A number of minutes after the breach")))
SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")


def parse_spans(text):
    """"08:00-12:00, 13:00-17:00" -> [("08:00", "12:00"), ("13:00", "17:00")]."""
    spans = []
    for part in (text or "").split(","):
        if not part.strip():
            continue
        found = SPAN.match(part)
        if not found:
            raise ValueError(part)
        h1, m1, h2, m2 = (int(g) for g in found.groups())
        if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2) \
                or (h2 * 60 + m2) <= (h1 * 60 + m1):
            raise ValueError(part)
        spans.append((f"{h1:02d}:{m1:02d}", f"{h2:02d}:{m2:02d}"))
    return spans


def format_spans(spans):
    return ", ".join(f"{start}-{end}" for start, end in spans or ())


def _valid_spans(form, field):
    try:
        parse_spans(field.data)
    except ValueError:
        raise ValidationError(_l("Write the hours like 08:00-17:00 (several: 08:00-12:00, "
                                 "13:00-17:00), or leave it empty for a closed day.")) from None


class HoursForm(BaseForm):
    day0 = StringField(WEEKDAY_LABELS[0], validators=[_valid_spans])
    day1 = StringField(WEEKDAY_LABELS[1], validators=[_valid_spans])
    day2 = StringField(WEEKDAY_LABELS[2], validators=[_valid_spans])
    day3 = StringField(WEEKDAY_LABELS[3], validators=[_valid_spans])
    day4 = StringField(WEEKDAY_LABELS[4], validators=[_valid_spans])
    day5 = StringField(WEEKDAY_LABELS[5], validators=[_valid_spans])
    day6 = StringField(WEEKDAY_LABELS[6], validators=[_valid_spans])
    holiday_country = SelectField(_l("Public holidays of"), choices=choices(COUNTRIES),
                                  validate_choice=True)
    auto_close_days = IntegerField(
        _l("Close resolved cases after (business days)"), default=5,
        description=_l("A resolved case the requester does not answer closes by itself after "
                       "this many business days (0: never)."),
        validators=[InputRequired(), NumberRange(0, 60)])
    confirm_link_days = IntegerField(_l("The confirmation link works for (days)"), default=14,
                                     validators=[InputRequired(), NumberRange(1, 90)])
    notify_requested_for = BooleanField(
        _l("Also inform the person the request is made for"))

    def day_fields(self):
        return [getattr(self, f"day{n}") for n in range(7)]

    def hours(self):
        return {n: parse_spans(getattr(self, f"day{n}").data) for n in range(7)}


class ClosedDayForm(BaseForm):
    day = DateField(_l("Date"), validators=[InputRequired(_l("Give the date."))])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])


class PolicyForm(BaseForm):
    first_response = IntegerField(_l("First response (minutes)"),
                                  validators=[Optional(), NumberRange(1, 525600)])
    next_response = IntegerField(_l("Next response (minutes)"),
                                 validators=[Optional(), NumberRange(1, 525600)])
    resolution = IntegerField(_l("Resolution (minutes)"),
                              validators=[Optional(), NumberRange(1, 525600)])
    active = BooleanField(_l("Active"), default=True)


class ToggleForm(BaseForm):
    active = HiddenField()


class TierTargetForm(BaseForm):
    target_minutes = IntegerField(_l("Tier target (minutes)"),
                                  description=_l("Empty: no target for this inbox."),
                                  validators=[Optional(), NumberRange(1, 525600)])


class StepForm(BaseForm):
    clock_kind = SelectField(_l("Clock"), choices=choices(CLOCK_KIND_LABELS), default="resolution")
    trigger = SelectField(_l("When"), choices=choices(TRIGGER_LABELS), default="percent")
    percent = IntegerField(_l("Percentage of the target"),
                           validators=[Optional(), NumberRange(1, 100)])
    offset_minutes = IntegerField(_l("Minutes after the breach"),
                                  validators=[Optional(), NumberRange(0, 525600)])
    action = SelectField(_l("Then"), choices=choices([(a, ACTION_LABELS[a]) for a in STEP_ACTIONS]))

    def validate_percent(self, field):
        if self.trigger.data == "percent" and field.data is None:
            raise ValidationError(_l("Give a percentage from 1 to 100."))

    def validate_offset_minutes(self, field):
        if self.trigger.data == "after_breach" and field.data is None:
            raise ValidationError(_l("Give the minutes after the breach (0 or more)."))


class ResolveForm(BaseForm):
    note = TextAreaField(_l("Resolution note"),
                         description=_l("What solved the problem. The requester sees it in the "
                                        "email that asks them to confirm."),
                         validators=[DataRequired(_l("Write what solved the problem: the "
                                                     "resolution note.")), Length(max=10000)])


class ConfirmForm(BaseForm):
    pass


class RejectForm(BaseForm):
    comment = TextAreaField(_l("What is still not working?"),
                            validators=[DataRequired(_l("Tell us what is still not working.")),
                                        Length(max=5000)])


class CannedForm(BaseForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Give the response a title.")),
                                                 Length(max=200)])
    language = SelectField(_l("Language"), choices=choices(sorted(LOCALE_LABELS.items())))
    body = TextAreaField(
        _l("Text"),
        description=_l("Placeholders: {requester_name}, {requested_for_name}, {case_number}, "
                       "{case_subject}, {agent_name}."),
        validators=[DataRequired(_l("Write the response.")), Length(max=10000)])


class ArticleForm(BaseForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Give the article a title.")),
                                                 Length(max=200)])
    language = SelectField(_l("Language"), choices=choices(sorted(LOCALE_LABELS.items())))
    catalog_item = SelectField(_l("Catalog item"), choices=[], validate_choice=False)
    body = TextAreaField(_l("Article (Markdown)"),
                         validators=[DataRequired(_l("Write the article.")), Length(max=50000)])
    publish = BooleanField(_l("Published (others can find it)"))
    from_case = HiddenField()
    confirm_similar = HiddenField()


class SolvedWithForm(BaseForm):
    article = HiddenField(validators=[DataRequired()])


class ReportForm(BaseForm):
    class Meta:
        csrf = False

    period = SelectField(_l("Period"), choices=choices([
        ("7", _l("Last 7 days")), ("30", _l("Last 30 days")), ("90", _l("Last 90 days")),
        ("365", _l("Last 12 months"))]), default="30")
    group = SelectField(_l("Per"), choices=choices([("inbox", _l("Inbox")), ("tier", _l("Tier"))]),
                        default="inbox")


PRIORITY_CHOICES = choices(sorted(PRIORITY_LABELS.items()))
