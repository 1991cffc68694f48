"""Handoff codes: a short one-time code with which another member takes over a case and its work
session. Also the public face of the area for others: ``troubleshooting_text(case)``.

The rules, and where each is kept:
- 8 characters from 20 consonants, from ``secrets``; shown XXXX-XXXX; typed input upper-cased,
  spaces and dashes ignored (``normalise_code``).
- Stored only as HMAC-SHA256 keyed with the app's secret (the caller passes the key in).
- Lives ``code_minutes`` (10 by default, 2-60 per organisation: ``HandoffSettings``); single use;
  one live code per case (a unique ``live_case_id``; issuing revokes the previous one); the
  issuer may revoke; any change of who holds the case revokes it (an audit subscriber on every
  action in ``audit.HOLDER_CHANGES``, and at redemption the holder must still be the one the
  code was issued under, which also covers a claim that lapsed silently).
- Redemption is a conditional UPDATE (not redeemed, not revoked, not expired, same
  organisation); the affected row count decides the single winner.
- Failed attempts are rows in the database, limited per member and per organisation per hour;
  on PostgreSQL each attempt locks the organisation's settings row, so counting and recording
  an attempt never race (SQLite's write transactions are serial already). At the organisation's
  limit redemption pauses for it and its admins are told.
- Every failure (unknown, expired, used, revoked, another organisation's, a case the member may
  not take over) gives the same answer.

The guessing bound: an organisation faces at most ``ORG_FAILURES_PER_HOUR`` guesses an hour
against at most ``MAX_LIVE_CODES_PER_ORG`` live codes out of 20^8, so the chance of hitting one
is at most their product over 20^8 (``guess_bound``); a test keeps it under one in a million.

Redeeming makes the redeemer the case's holder:
- not escalated: the redeemer becomes the case's assignee;
- escalated: the issuer's claim ends ("handed_off") and the redeemer, who must own the inbox
  (only an inbox's owners hold its claims), gets a fresh claim for the inbox's assignment
  duration; an unclaimed escalated case is claimed for the redeemer the same way. The batch size
  limits "claim next" only, not a deliberate handoff.
The open work sessions of the case get the redeemer as their worker; everything recorded in
them belongs to the case and so goes along. The issuer gets a notice on their landing page.
"""
import hashlib
import hmac
import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from peewee import IntegrityError

from .. import audit
from ..db import database, is_postgres
from ..errors import Conflict, Forbidden, Invalid, NotFound, Throttled
from ..models import Case, Claim, Escalation, Inbox, Member
from . import permissions
from .models import HandoffAttempt, HandoffCode, HandoffNotice, HandoffSettings, WorkSession
from .worksession import troubleshooting_text  # noqa: F401  (part of this module's interface)

ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
CODE_LENGTH = 8
DEFAULT_CODE_MINUTES = 10
MIN_CODE_MINUTES = 2
MAX_CODE_MINUTES = 60
MEMBER_FAILURES_PER_HOUR = 10
ORG_FAILURES_PER_HOUR = 100
MAX_LIVE_CODES_PER_ORG = 200
WINDOW = timedelta(hours=1)

INVALID_CODE = _l("That code cannot be used. Check it with your colleague, or ask them for a "
                  "new one.")
MEMBER_THROTTLED = _l("Too many codes that could not be used. Try again in an hour, or ask your "
                      "colleague to assign the case to you.")
ORG_PAUSED = _l("Handoff codes are paused for your organisation after too many codes that could "
                "not be used. Your administrators have been told.")


# ---------------------------------------------------------------------------------------------
# The code itself


def generate_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    """Upper-cased, with spaces and dashes (and any other whitespace) removed."""
    return "".join(ch for ch in (text or "").upper() if not ch.isspace() and ch not in "-\u2010\u2011\u2012\u2013\u2014")


def is_well_formed(code: str) -> bool:
    return len(code) == CODE_LENGTH and all(ch in ALPHABET for ch in code)


def format_code(code: str) -> str:
    code = normalise_code(code)
    return f"{code[:4]}-{code[4:]}"


def hash_code(code: str, secret_key) -> str:
    key = secret_key.encode() if isinstance(secret_key, str) else bytes(secret_key)
    return hmac.new(key, normalise_code(code).encode(), hashlib.sha256).hexdigest()


def guess_bound() -> float:
    """The highest chance of guessing any live code of one organisation within an hour."""
    return ORG_FAILURES_PER_HOUR * MAX_LIVE_CODES_PER_ORG / len(ALPHABET) ** CODE_LENGTH


# ---------------------------------------------------------------------------------------------
# Settings


def settings_of(org) -> HandoffSettings:
    """The organisation's settings row (created with the defaults when missing)."""
    org_id = getattr(org, "id", org)
    row = HandoffSettings.get_or_none(HandoffSettings.organisation == org_id)
    if row is None:
        return HandoffSettings(organisation=org_id, code_minutes=DEFAULT_CODE_MINUTES)
    return row


def _locked_settings(org_id, now):
    """The settings row, created if missing, locked for this transaction on PostgreSQL."""
    try:
        with database.atomic():
            HandoffSettings.insert(organisation=org_id, code_minutes=DEFAULT_CODE_MINUTES,
                                   updated_at=now).execute()
    except IntegrityError:
        pass
    query = HandoffSettings.select().where(HandoffSettings.organisation == org_id)
    if is_postgres():
        query = query.for_update()
    return query.get()


def set_code_minutes(org, actor, *, minutes, now) -> HandoffSettings:
    if minutes is None or not (MIN_CODE_MINUTES <= int(minutes) <= MAX_CODE_MINUTES):
        raise Invalid([("code_minutes", _l("Choose between %(low)d and %(high)d minutes.",
                                           low=MIN_CODE_MINUTES, high=MAX_CODE_MINUTES))])
    org_id = getattr(org, "id", org)
    with database.atomic():
        _locked_settings(org_id, now)
        (HandoffSettings.update(code_minutes=int(minutes), updated_at=now)
         .where(HandoffSettings.organisation == org_id).execute())
        audit.record(actor, "handoff.settings_changed", organisation=org_id, now=now,
                     code_minutes=int(minutes))
    return settings_of(org_id)


# ---------------------------------------------------------------------------------------------
# Issuing and revoking


def live_code_of(case, now):
    return (HandoffCode.select().where((HandoffCode.case == case) & HandoffCode.live_expr(now))
            .first())


def issue_code(case, actor, *, secret_key, now) -> tuple[HandoffCode, str]:
    """A new code for the case (revoking its previous one). Returns the row and the plain code,
    which is shown to the issuer and never stored."""
    if not permissions.may_issue_code(actor, case, now):
        raise Forbidden(_l("Only the person working on this case can hand it over."))
    with database.atomic():
        settings = _locked_settings(case.organisation_id, now)
        _revoke_live(case.id, now=now, reason="replaced")
        live = (HandoffCode.select().where((HandoffCode.organisation == case.organisation_id)
                                           & HandoffCode.live_expr(now)).count())
        if live >= MAX_LIVE_CODES_PER_ORG:
            raise Conflict(_l("Your organisation has too many handoff codes in use. Try again "
                              "in a few minutes."))
        session = WorkSession.open_of(case)
        for _ in range(5):
            plain = generate_code()
            try:
                with database.atomic():
                    code = HandoffCode.create(
                        organisation=case.organisation_id, case=case, session=session,
                        code_hash=hash_code(plain, secret_key), live_case_id=case.id,
                        issued_by=actor, issued_holder=permissions.holder_id(case, now),
                        issued_at=now, expires_at=now + timedelta(minutes=settings.code_minutes))
                break
            except IntegrityError:
                # A hash collision with an earlier code (or a code issued for this case at the
                # same moment): draw again.
                _revoke_live(case.id, now=now, reason="replaced")
        else:  # pragma: no cover - five collisions in 20^8 do not happen
            raise Conflict()
        audit.record(actor, "handoff.issued", organisation=case.organisation_id, case=case,
                     subject=code, now=now, expires_at=code.expires_at)
    return code, plain


def _revoke_live(case_id, *, now, reason):
    return (HandoffCode.update(revoked_at=now, revoked_reason=reason, live_case_id=None)
            .where((HandoffCode.live_case_id == case_id) & HandoffCode.redeemed_at.is_null()
                   & HandoffCode.revoked_at.is_null())
            .execute())


def revoke_code(code, actor, *, now):
    """The issuer (or a lead) withdraws a code."""
    if actor.id != code.issued_by_id and not permissions.is_staff_lead(actor):
        raise Forbidden()
    with database.atomic():
        changed = (HandoffCode.update(revoked_at=now, revoked_reason="revoked", live_case_id=None)
                   .where((HandoffCode.id == code.id) & HandoffCode.redeemed_at.is_null()
                          & HandoffCode.revoked_at.is_null())
                   .execute())
        if not changed:
            raise Conflict(_l("That code was already used or withdrawn."))
        audit.record(actor, "handoff.revoked", organisation=code.organisation_id,
                     case=code.case_id, subject=code, now=now, reason="revoked")


def _on_holder_change(event):
    _on_holder_changes([event])


def _on_holder_changes(events):
    """Any change of who holds a case revokes its live code (inside that change's transaction):
    one UPDATE for the events recorded together."""
    events = [event for event in events
              if event.case_id is not None and event.action in audit.HOLDER_CHANGES]
    if not events:
        return
    revoked = {row.case_id for row in
               HandoffCode.update(revoked_at=events[0].created_at, revoked_reason="holder_changed",
                                  live_case_id=None)
               .where(HandoffCode.live_case_id.in_(list({event.case_id for event in events}))
                      & HandoffCode.redeemed_at.is_null() & HandoffCode.revoked_at.is_null())
               .returning(HandoffCode.case).execute()}
    for event in events:
        if event.case_id in revoked:
            revoked.discard(event.case_id)
            audit.record(event.actor_id, "handoff.revoked", organisation=event.organisation_id,
                         case=event.case_id, now=event.created_at, reason="holder_changed",
                         cause=event.action)


_subscribed = set()


def _on_any_events(events):
    # Actions that areas add to HOLDER_CHANGES after this module was imported.
    _on_holder_changes([event for event in events if event.action not in _subscribed])


def _on_any_event(event):
    _on_any_events([event])


def _subscribe():
    for action in sorted(audit.HOLDER_CHANGES):
        audit.subscribe(action, _on_holder_change, many=_on_holder_changes)
        _subscribed.add(action)
    audit.subscribe("*", _on_any_event, many=_on_any_events)


_subscribe()


# ---------------------------------------------------------------------------------------------
# Attempts and their limits


def failures_of_member(member, now) -> int:
    return (HandoffAttempt.select().where((HandoffAttempt.member == member.id)
                                          & (HandoffAttempt.created_at > now - WINDOW)).count())


def failures_of_org(org_id, now) -> int:
    return (HandoffAttempt.select().where((HandoffAttempt.organisation == org_id)
                                          & (HandoffAttempt.created_at > now - WINDOW)).count())


def paused_until(org_id, now):
    """While the organisation is at its limit: when it ends (the oldest counted failure turns an
    hour old); else None."""
    recent = (HandoffAttempt.select(HandoffAttempt.created_at)
              .where((HandoffAttempt.organisation == org_id)
                     & (HandoffAttempt.created_at > now - WINDOW))
              .order_by(HandoffAttempt.created_at.desc())
              .limit(ORG_FAILURES_PER_HOUR))
    times = [row.created_at for row in recent]
    if len(times) < ORG_FAILURES_PER_HOUR:
        return None
    return times[-1] + WINDOW


def _record_failure(actor, now):
    HandoffAttempt.create(organisation=actor.organisation_id, member=actor, created_at=now)
    if failures_of_org(actor.organisation_id, now) == ORG_FAILURES_PER_HOUR:
        until = paused_until(actor.organisation_id, now)
        audit.record(actor, "handoff.redemption_paused", organisation=actor.organisation_id,
                     now=now, until=until, failures=ORG_FAILURES_PER_HOUR)
        admins = Member.select().where((Member.organisation == actor.organisation_id)
                                       & (Member.active == True)  # noqa: E712
                                       & Member.role.in_(("admin", "owner")))
        for admin in admins:
            HandoffNotice.create(organisation=actor.organisation_id, member=admin, kind="paused",
                                 until=until, created_at=now)


def _limit_reached(actor, now):
    if failures_of_org(actor.organisation_id, now) >= ORG_FAILURES_PER_HOUR:
        return Throttled(ORG_PAUSED)
    if failures_of_member(actor, now) >= MEMBER_FAILURES_PER_HOUR:
        return Throttled(MEMBER_THROTTLED)
    return None


def _find_usable(code_hash, actor, now):
    """The live code with this hash in the actor's organisation, if the actor may take its case
    over and its case is still held as when it was issued; else None."""
    code = (HandoffCode.select(HandoffCode, Case).join(Case)
            .where((HandoffCode.code_hash == code_hash)
                   & (HandoffCode.organisation == actor.organisation_id)
                   & HandoffCode.live_expr(now)).first())
    if code is None:
        return None
    case = code.case
    if permissions.holder_id(case, now) != code.issued_holder_id:
        return None
    if not permissions.may_take_over(actor, case):
        return None
    return code


def _attempt(plain, actor, secret_key, now, use):
    """Run ``use(code)`` on the usable code, counting a failure otherwise. The failure is
    committed before it is raised."""
    if not actor.active:
        raise Invalid([("code", INVALID_CODE)])
    code_text = normalise_code(plain)
    if not is_well_formed(code_text):
        raise Invalid([("code", _l("A handoff code is 8 letters, like BCDF-GHJK."))])
    failure = result = None
    with database.atomic():
        _locked_settings(actor.organisation_id, now)
        failure = _limit_reached(actor, now)
        if failure is None:
            code = _find_usable(hash_code(code_text, secret_key), actor, now)
            result = use(code) if code is not None else None
            if result is None:
                _record_failure(actor, now)
                failure = Invalid([("code", INVALID_CODE)])
    if failure is not None:
        raise failure
    return result


def check_code(plain, actor, *, secret_key, now) -> HandoffCode:
    """The preview: the code's case, issuer and session, if the actor could take it over now."""
    return _attempt(plain, actor, secret_key, now, lambda code: code)


def redeem_code(plain, actor, *, secret_key, now) -> Case:
    """Take over: the actor becomes the case's holder and its sessions' worker."""
    return _attempt(plain, actor, secret_key, now, lambda code: _take_over(code, actor, now))


def _take_over(code, actor, now):
    won = (HandoffCode.update(redeemed_at=now, redeemed_by=actor, live_case_id=None)
           .where((HandoffCode.id == code.id) & HandoffCode.redeemed_at.is_null()
                  & HandoffCode.revoked_at.is_null() & (HandoffCode.expires_at > now)
                  & (HandoffCode.organisation == actor.organisation_id))
           .execute())
    if won != 1:
        return None
    case = Case.get_by_id(code.case_id)
    _make_holder(case, actor, now)
    (WorkSession.update(worker=actor, updated_at=now)
     .where((WorkSession.case == case.id) & WorkSession.finished_at.is_null()).execute())
    HandoffNotice.create(organisation=case.organisation_id, member=code.issued_by_id,
                         kind="taken_over", case=case, other=actor, created_at=now)
    audit.record(actor, "handoff.redeemed", organisation=case.organisation_id, case=case,
                 subject=code, now=now, issued_by=code.issued_by_id,
                 issuer=Member.get_by_id(code.issued_by_id).name, escalated=case.is_escalated)
    return Case.get_by_id(case.id)


def _make_holder(case, actor, now):
    fields = dict(version=Case.version + 1, updated_at=now)
    condition = (Case.id == case.id) & (Case.version == case.version)
    if case.inbox_id is None:
        fields["assignee"] = actor
        condition &= Case.inbox.is_null()
    else:
        inbox = Inbox.get_by_id(case.inbox_id)
        expires = now + timedelta(minutes=inbox.assignment_minutes)
        fields.update(claimed_by=actor, claim_expires_at=expires)
        condition &= (Case.inbox == case.inbox_id)
        (Claim.update(ended_at=now, end_reason="handed_off")
         .where((Claim.case == case.id) & Claim.ended_at.is_null()).execute())
        escalation = _open_escalation(case)
        if escalation is not None:
            Claim.create(organisation=case.organisation_id, escalation=escalation, case=case,
                         member=actor, claimed_at=now, expires_at=expires)
    if Case.update(**fields).where(condition).execute() != 1:
        raise Conflict()


def _open_escalation(case):
    if case.escalation_id is not None:
        found = Escalation.get_or_none(Escalation.id == case.escalation_id)
        if found is not None:
            return found
    return (Escalation.select().where((Escalation.case == case.id) & Escalation.ended_at.is_null())
            .order_by(Escalation.escalated_at.desc()).first())


# ---------------------------------------------------------------------------------------------
# Notices


def notices_for(member):
    return list(HandoffNotice.unread_for(member).limit(20))


def dismiss_notice(notice, actor, *, now):
    if notice.member_id != actor.id:
        raise NotFound()
    with database.atomic():
        (HandoffNotice.update(dismissed_at=now)
         .where((HandoffNotice.id == notice.id) & HandoffNotice.dismissed_at.is_null()).execute())


def code_summary(code, now) -> dict:
    """What the issuer's code page shows about a code."""
    return {"state": code.state(now), "seconds_left": max(0, int((code.expires_at - now).total_seconds())),
            "redeemed_by": Member.get_by_id(code.redeemed_by_id) if code.redeemed_by_id else None}

