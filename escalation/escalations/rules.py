"""The escalation form's rules, in one place: the form's validators (on submit and as each field is
left) and the service (whoever calls it) check the same functions.

Each ``*_problem`` function returns None when the value is fine, else the message to show.
"""
import re

from flask_babel import format_number
from flask_babel.speaklater import LazyString
from flask_babel import lazy_gettext as _l

from ..models import PRIORITIES

ALWAYS_REQUIRED = ("requester", "subject", "description", "troubleshooting", "serial_number",
                   "colleagues", "priority")
# Fields an item may make required as well.
OPTIONAL_FIELDS = ("requested_for", "colleagues_note", "attachments")

SUBJECT_MIN, SUBJECT_MAX = 5, 200
SERIAL_MIN, SERIAL_MAX = 5, 30
SERIAL_CHARACTERS = re.compile(r"[A-Z0-9-]+")
TEXT_MAX = 20000
NOTE_MAX = 500

COLLEAGUES = ("only_user", "some", "whole_site")
COLLEAGUE_LABELS = {
    "only_user": _l("Only this user"),
    "some": _l("Some colleagues"),
    "whole_site": _l("Everyone at the site (e.g. the whole parish)"),
}

PRIORITY_DEFINITIONS = {
    1: _l("The user can work as usual; this can wait."),
    2: _l("Work is harder, but there is a way around the problem for now."),
    3: _l("The user cannot do an important part of their work."),
    4: _l("The user cannot work at all, or many people are affected."),
}

REQUIRED_MESSAGES = {
    "requester": _l("Give the requester: the person who contacted support."),
    "requested_for": _l("Give the person the request is for."),
    "subject": _l("Write a short, meaningful subject."),
    "description": _l("Describe the problem in as much detail as possible."),
    "troubleshooting": _l("Write down every troubleshooting step that has been tried."),
    "serial_number": _l("The serial number of the affected device is required to escalate. "
                        "See below for where to find it."),
    "colleagues": _l("Say whether the user's colleagues have the same problem."),
    "colleagues_note": _l("Say which colleagues are affected, or since when."),
    "priority": _l("Choose how urgent this is for the user."),
    "attachments": _l("Attach at least one file: a photo, screenshot or log."),
}


def normalise_serial(value):
    """Trimmed, upper-cased, without the spaces people type inside it."""
    if value is None:
        return value
    return re.sub(r"\s+", "", str(value)).upper()


def required_problem(name, value):
    if value is None or (isinstance(value, str) and not value.strip()) or value == []:
        return REQUIRED_MESSAGES[name]
    return None


def subject_problem(value):
    value = (value or "").strip()
    if not value:
        return REQUIRED_MESSAGES["subject"]
    if len(value) < SUBJECT_MIN:
        return _l("The subject is too short to say what the case is about: use at least %(min)d "
                  "characters.", min=SUBJECT_MIN)
    if len(value) > SUBJECT_MAX:
        return _l("Keep the subject to at most %(max)d characters; put the details in the "
                  "description.", max=SUBJECT_MAX)
    return None


def detail_problem(name, value):
    """Description and troubleshooting: required, and not endless. Shorter than the item's
    minimum is only a warning (``short_detail_warning``), never a refusal."""
    value = (value or "").strip()
    if not value:
        return REQUIRED_MESSAGES[name]
    if len(value) > TEXT_MAX:
        return _l("This text is too long: at most %(max)d characters.", max=TEXT_MAX)
    return None


# The texts the routine pushes for detail in: shorter than the item's minimum, the agent is
# warned and may send them anyway after one confirmation that covers them all.
SHORT_DETAIL_FIELDS = ("description", "troubleshooting")


def min_length(item, name) -> int:
    """The item's recommended minimum length for a detail field (0: no minimum)."""
    if item is None:
        return 0
    return {"description": item.min_description_length,
            "troubleshooting": item.min_troubleshooting_length}[name]


def is_short(value, minimum) -> bool:
    """Written, but shorter than the minimum (empty is a different matter: required)."""
    value = (value or "").strip()
    return bool(value) and len(value) < minimum


def short_detail_warning(name, value, minimum):
    """The warning for a detail field shorter than the item's minimum (None when it is long
    enough, or empty: then it is required, see ``detail_problem``). The agent may send it anyway
    after confirming."""
    if not is_short(value, minimum):
        return None
    minimum = LazyString(format_number, minimum)
    if name == "description":
        return _l("The description is shorter than the recommended %(min)s characters. Add as "
                  "much detail as you can, so the next tier need not ask. If there is no more to "
                  "say, confirm and send it anyway.", min=minimum)
    return _l("The troubleshooting text is shorter than the recommended %(min)s characters. Write "
              "down every step that was tried and what happened, so the next tier does not repeat "
              "it. If there is no more to say, confirm and send it anyway.", min=minimum)


def short_fields(values: dict, item) -> list[str]:
    """The detail fields written but shorter than the item's minimum, in the form's order."""
    return [name for name in SHORT_DETAIL_FIELDS
            if is_short(values.get(name), min_length(item, name))]


def serial_problem(value):
    value = normalise_serial(value) or ""
    if not value:
        return REQUIRED_MESSAGES["serial_number"]
    if not SERIAL_CHARACTERS.fullmatch(value):
        return _l("A serial number has only letters A–Z, digits and hyphens. Check what you "
                  "typed against the device.")
    if not SERIAL_MIN <= len(value) <= SERIAL_MAX:
        return _l("A serial number is %(min)d to %(max)d characters long; this one has "
                  "%(count)d. Check what you typed against the device.",
                  min=SERIAL_MIN, max=SERIAL_MAX, count=len(value))
    return None


def colleagues_problem(value):
    if not value:
        return REQUIRED_MESSAGES["colleagues"]
    if value not in COLLEAGUES:
        return _l("Choose one of the answers.")
    return None


def note_problem(value, required):
    value = (value or "").strip()
    if required and not value:
        return REQUIRED_MESSAGES["colleagues_note"]
    if len(value) > NOTE_MAX:
        return _l("Keep the note to at most %(max)d characters.", max=NOTE_MAX)
    return None


def priority_problem(value):
    if value in (None, ""):
        return REQUIRED_MESSAGES["priority"]
    try:
        value = int(value)
    except (TypeError, ValueError):
        return _l("Choose one of the answers.")
    if value not in PRIORITIES:
        return _l("Choose one of the answers.")
    return None


def packet_problems(values: dict, item, *, short_confirmed=False) -> list[tuple[str, object]]:
    """Every problem with a whole form's values (the service's own check), as (field, message).
    A too-short description or troubleshooting counts unless the agent confirmed sending it
    anyway (one confirmation covers both)."""
    required = set(item.required_fields) if item is not None else set()
    details = {}
    for name in SHORT_DETAIL_FIELDS:
        details[name] = detail_problem(name, values.get(name))
        if details[name] is None and not short_confirmed:
            details[name] = short_detail_warning(name, values.get(name), min_length(item, name))
    checks = [
        ("requester", required_problem("requester", values.get("requester"))),
        ("requested_for", required_problem("requested_for", values.get("requested_for"))
         if "requested_for" in required else None),
        ("subject", subject_problem(values.get("subject"))),
        ("description", details["description"]),
        ("troubleshooting", details["troubleshooting"]),
        ("serial_number", serial_problem(values.get("serial_number"))),
        ("colleagues", colleagues_problem(values.get("colleagues"))),
        ("colleagues_note", note_problem(values.get("colleagues_note"),
                                         "colleagues_note" in required)),
        ("priority", priority_problem(values.get("priority"))),
        ("attachments", REQUIRED_MESSAGES["attachments"]
         if "attachments" in required and not values.get("attachments") else None),
    ]
    return [(name, message) for name, message in checks if message is not None]
