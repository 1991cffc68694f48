"""Confirmed resolution. Resolving needs a resolution note; the requester (and the requested-for
person, if the organisation wants) gets a signed, expiring, single-use link: "Yes, it is solved"
closes the case, "No, it is not" reopens it to the last holder with their comment. A resolution
nobody answers closes after the organisation's number of business days (the sweep does it).
"""
import secrets

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .. import audit, sqlcache
from ..db import database, is_postgres
from ..errors import Conflict, DomainError, Expired, Invalid, NotFound
from ..cases.service import resolution_note
from ..models import Case, Contact, Member
from . import holding
from .calendar import Calendars, calendar_for, settings_for
from .models import Resolution
from .notifications import notify_contact, notify_member, requesters_of

COMMENT_MAX = 5000
SALT = "eskalera-confirm-resolution"


# ---------------------------------------------------------------------------------------------
# Resolving


def _holder_id(case, now):
    return case.claimed_by_id if case.is_claimed(now) else case.assignee_id


def resolve_with_note(case, actor, *, note, now) -> Resolution:
    """Resolve the case with a resolution note, and ask the requester to confirm. Every page that
    resolves a case (the resolution panel, the status control, "send and resolve", the inbox's
    resolve) comes here."""
    note = resolution_note(note)
    if case.status not in ("open", "waiting"):
        raise Conflict(_l("This case is resolved or closed already."))
    with database.atomic():
        resolution = _new_resolution(case, actor, note, now)
        holding.resolve(case, actor, now=now, note=note)
        audit.record(actor, "sla.resolution_noted", organisation=case.organisation_id, case=case.id,
                     subject=resolution, now=now, note=note)
    return resolution


def reply_and_resolve(case, actor, *, body, note, now):
    """A reply to the requester, then the resolution with its note, in one transaction: the
    note is checked before anything is sent. A case that is resolved or closed already only gets
    the reply."""
    note = resolution_note(note)
    with database.atomic():
        message = holding.reply(case, actor, body=body, now=now)
        if case.status in ("open", "waiting"):
            resolve_with_note(case, actor, note=note, now=now)
    return message


def fill_note(event):
    """A case resolved straight through the cases or inboxes service (not ``resolve_with_note``)
    carries its note on the event: the resolution the SLA area made for it gets that note."""
    note = event.data.get("note")
    if event.case_id is None or not isinstance(note, str) or not note:
        return
    (Resolution.update(note=note)
     .where((Resolution.case == event.case_id) & (Resolution.resolved_at == event.created_at)
            & (Resolution.note == "")).execute())


def _new_resolution(case, actor, note, now):
    # Links of earlier, unanswered resolutions of the case stop working.
    (Resolution.update(answered_at=now, answer="superseded")
     .where((Resolution.case == case.id) & Resolution.answered_at.is_null()).execute())
    settings = settings_for(case.organisation_id)
    close_after = calendar_for(case.organisation_id, settings=settings) \
        .add_days(now, settings.auto_close_days) if settings.auto_close_days else None
    return Resolution.create(organisation=case.organisation_id, case=case.id, note=note,
                             resolved_by=getattr(actor, "id", actor), resolved_at=now,
                             last_holder=_holder_id(case, now) or _last_holder_from_track(case),
                             nonce=secrets.token_hex(16),
                             close_after=close_after)


def on_resolved(case, actor_id, now):
    """The case became resolved (by any area): make sure a resolution waits for confirmation,
    and send the requester their link."""
    resolution = (Resolution.select().where((Resolution.case == case.id)
                                            & Resolution.answered_at.is_null()
                                            & (Resolution.resolved_at == now))
                  .order_by(Resolution.id.desc()).first())
    if resolution is None:
        resolution = _new_resolution(case, actor_id, "", now)
    settings = settings_for(case.organisation_id)
    for contact in requesters_of(case, settings):
        notify_contact(contact, "resolved", now=now, case=case, resolution=resolution.id,
                       dedupe=f"resolved:{resolution.id}")


def _last_holder_from_track(case):
    from .models import CaseTrack
    return CaseTrack.select(CaseTrack.last_holder).where(CaseTrack.case == case.id).scalar()


def _latest_of(case_id):
    return (Resolution.select().where(Resolution.case == case_id)
            .order_by(Resolution.resolved_at.desc(), Resolution.id.desc()).limit(1))


def latest_for(case):
    """The case's latest resolution, or None (the case page asks on every view: the SQL is
    compiled once, ``sqlcache``)."""
    found = sqlcache.select(("sla.latest_resolution",), _latest_of, case.id)
    return found[0] if found else None


# ---------------------------------------------------------------------------------------------
# The signed link


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def token_for(resolution) -> str:
    return _serializer().dumps({"r": resolution.id, "n": resolution.nonce})


def resolution_from_token(token, *, now=None) -> Resolution:
    """The resolution a link is for. Expired links raise ``Expired``; forged or unknown ones
    ``NotFound``; answered ones ``Conflict``."""
    serializer = _serializer()
    try:
        data, signed_at = serializer.loads(token, return_timestamp=True)
    except SignatureExpired:
        raise Expired(_l("This link has expired.")) from None
    except BadSignature:
        raise NotFound() from None
    resolution = Resolution.get_or_none((Resolution.id == data.get("r"))
                                        & (Resolution.nonce == data.get("n")))
    if resolution is None:
        raise NotFound()
    settings = settings_for(resolution.organisation_id)
    age = (now or _utcnow()) - signed_at.replace(tzinfo=None)
    if age.total_seconds() > settings.confirm_link_days * 86400:
        raise Expired(_l("This link has expired."))
    return resolution


def _utcnow():
    from ..clock import utcnow
    return utcnow()


def _take_answer(resolution, answer, comment, now):
    """Single use: the conditional update decides which answer counts."""
    won = (Resolution.update(answered_at=now, answer=answer, comment=comment)
           .where((Resolution.id == resolution.id) & Resolution.answered_at.is_null()
                  & (Resolution.nonce == resolution.nonce)).execute())
    if won != 1:
        raise Conflict(_l("This link has been used already."))


def _locked_case(case_id):
    query = Case.select().where(Case.id == case_id)
    if is_postgres():
        query = query.for_update()
    return query.first()


def confirm_solved(resolution, *, now):
    """"Yes, it is solved": the case closes."""
    with database.atomic():
        _take_answer(resolution, "yes", "", now)
        case = _locked_case(resolution.case_id)
        if case.status == "resolved":
            holding.close(case, now=now)
        audit.record(None, "sla.resolution_confirmed", organisation=case.organisation_id,
                     case=case.id, subject=resolution, now=now)
    return case


def report_unsolved(resolution, *, comment, now):
    """"No, it is not": the case opens again with the requester's comment, back to whoever held
    it last, who is told."""
    comment = (comment or "").strip()
    if not comment:
        raise Invalid([("comment", _l("Tell us what is still not working."))])
    if len(comment) > COMMENT_MAX:
        raise Invalid([("comment", _l("That is too long (at most %(num)d characters).",
                                      num=COMMENT_MAX))])
    with database.atomic():
        _take_answer(resolution, "no", comment, now)
        case = _locked_case(resolution.case_id)
        if case.status == "closed":
            raise Conflict(_l("This case is closed already."))
        requester = Contact.get_or_none(Contact.id == case.requester_id)
        holding.record_answer(case, requester, body=comment, now=now)
        case = Case.get_by_id(case.id)
        holder = Member.get_or_none(Member.id == resolution.last_holder_id) \
            if resolution.last_holder_id else None
        _back_to(case, holder, now)
        audit.record(None, "sla.resolution_rejected", organisation=case.organisation_id,
                     case=case.id, subject=resolution, now=now, comment=comment,
                     holder=getattr(holder, "id", None))
        if holder is not None:
            notify_member(holder, "reopened", now=now, case=case, comment=comment,
                          dedupe=f"reopened:{resolution.id}")
    return case


def _back_to(case, holder, now):
    """An escalated case goes back to its last claimant's hands when they may claim it."""
    if holder is None or case.inbox_id is None or case.is_claimed(now):
        return
    try:
        with database.atomic():
            holding.claim_for(case, holder, now=now)
    except DomainError as exc:  # no longer an owner, batch full: it waits in the inbox
        current_app.logger.info("Reopened case %s stays in its inbox: %s", case.id, exc)


# ---------------------------------------------------------------------------------------------
# Auto-close (from the sweep)


def auto_close_due(now, cals: Calendars | None = None, *, limit=200) -> int:
    due = [row.id for row in Resolution.select(Resolution.id)
           .where(Resolution.answered_at.is_null() & Resolution.close_after.is_null(False)
                  & (Resolution.close_after <= now))
           .order_by(Resolution.close_after).limit(limit)]
    closed = 0
    for resolution_id in due:
        with database.atomic():
            won = (Resolution.update(answered_at=now, answer="auto")
                   .where((Resolution.id == resolution_id) & Resolution.answered_at.is_null())
                   .execute())
            if not won:
                continue
            resolution = Resolution.get_by_id(resolution_id)
            case = _locked_case(resolution.case_id)
            if case is None or case.status != "resolved":
                continue
            holding.close(case, now=now)
            audit.record(None, "sla.auto_closed", organisation=case.organisation_id,
                         case=case.id, subject=resolution, now=now)
            settings = settings_for(case.organisation_id)
            for contact in requesters_of(case, settings):
                notify_contact(contact, "auto_closed", now=now, case=case,
                               dedupe=f"auto_closed:{resolution.id}")
            closed += 1
    return closed
