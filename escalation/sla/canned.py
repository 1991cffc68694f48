"""Canned responses per organisation and language, with placeholders filled from the case."""
import string

from flask_babel import lazy_gettext as _l

from .. import audit
from ..db import database
from ..errors import Invalid, NotFound
from ..models import LOCALES, Contact
from .models import CannedResponse

PLACEHOLDERS = ("requester_name", "requested_for_name", "case_number", "case_subject",
                "agent_name")


class _Blank(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def _check(title, language, body):
    problems = []
    if not (title or "").strip():
        problems.append(("title", _l("Give the response a title.")))
    if language not in LOCALES:
        problems.append(("language", _l("Choose a language from the list.")))
    if not (body or "").strip():
        problems.append(("body", _l("Write the response.")))
    else:
        unknown = [name for _, name, _, _ in string.Formatter().parse(body)
                   if name and name not in PLACEHOLDERS]
        if unknown:
            problems.append(("body", _l("Unknown placeholder: {%(name)s}.", name=unknown[0])))
    if problems:
        raise Invalid(problems)


def _safe_parse(body):
    try:
        list(string.Formatter().parse(body or ""))
    except ValueError:
        raise Invalid([("body", _l("A { or } is not closed: write {{ or }} for the sign itself."))]) \
            from None


def save(org, actor, *, title, language, body, now, canned=None) -> CannedResponse:
    _safe_parse(body)
    _check(title, language, body)
    fields = dict(title=title.strip(), language=language, body=body.strip(), updated_at=now)
    with database.atomic():
        if canned is None:
            canned = CannedResponse.create(organisation=org.id, created_at=now, **fields)
            action = "sla.canned_created"
        else:
            CannedResponse.update(**fields).where(CannedResponse.id == canned.id).execute()
            canned = CannedResponse.get_by_id(canned.id)
            action = "sla.canned_updated"
        audit.record(actor, action, organisation=org.id, subject=canned, now=now,
                     title=canned.title, language=language)
    return canned


def delete(org, actor, canned_id, *, now):
    with database.atomic():
        canned = CannedResponse.get_or_none((CannedResponse.id == canned_id)
                                            & (CannedResponse.organisation == org.id))
        if canned is None:
            raise NotFound()
        canned.delete_instance()
        audit.record(actor, "sla.canned_deleted", organisation=org.id, now=now,
                     title=canned.title)


def for_org(org_id, language=None):
    query = CannedResponse.select().where(CannedResponse.organisation == org_id)
    if language:
        query = query.where(CannedResponse.language == language)
    return query.order_by(CannedResponse.language, CannedResponse.title, CannedResponse.id)


def case_language(case, org):
    if not case.requester_id:
        requester = None
    elif "requester" in case.__rel__:  # loaded with the case (the case page joins it)
        requester = case.__rel__["requester"]
    else:
        requester = Contact.get_or_none(Contact.id == case.requester_id)
    return (requester.locale if requester and requester.locale else None) or org.default_locale


def people_of(case) -> dict:
    """Names of the case's requester and requested-for, by contact id (one query)."""
    return {c.id: c.name for c in Contact.select(Contact.id, Contact.name).where(
        Contact.id.in_([i for i in (case.requester_id, case.requested_for_id) if i]))}


def fill(canned, case, agent, *, people=None) -> str:
    """The response with its placeholders filled for this case (unknown ones stay as typed).
    ``people``: ``people_of(case)`` when filling several responses for the same case."""
    if people is None:
        people = people_of(case)
    values = _Blank(requester_name=people.get(case.requester_id, ""),
                    requested_for_name=people.get(case.requested_for_id, ""),
                    case_number=str(case.id), case_subject=case.subject,
                    agent_name=agent.name if agent is not None else "")
    try:
        return canned.body.format_map(values)
    except (ValueError, IndexError, AttributeError):
        return canned.body
