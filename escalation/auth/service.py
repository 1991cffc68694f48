"""Sign-in: password checks and per-account throttling kept in the database."""
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from peewee import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit
from ..db import database
from ..errors import Invalid, Throttled
from ..models import LoginThrottle, Member, Organisation, User

# A hash to check against when the account does not exist, so both paths cost the same.
_DUMMY_HASH = generate_password_hash("not a real password")

BAD_CREDENTIALS = _l("That email and password do not match an account.")


def hash_password(password: str) -> str:
    return generate_password_hash(password)  # scrypt, werkzeug's current default


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def _throttle_key(email: str) -> str:
    return normalise_email(email)[:254]


def is_locked(email: str, *, now) -> bool:
    row = LoginThrottle.get_or_none(LoginThrottle.key == _throttle_key(email))
    return bool(row and row.locked_until and row.locked_until > now)


def _register_failure(key, *, now, max_failures, lock_seconds):
    """Count one failure atomically; lock the key once it reaches ``max_failures``."""
    window = timedelta(seconds=lock_seconds)
    with database.atomic():
        try:
            with database.atomic():
                LoginThrottle.insert(key=key, failures=0, window_started_at=now).execute()
        except IntegrityError:
            pass
        # Start a fresh window if the old one is over, then count.
        (LoginThrottle.update(failures=0, window_started_at=now, locked_until=None)
         .where((LoginThrottle.key == key) & (LoginThrottle.window_started_at < now - window)
                & ((LoginThrottle.locked_until.is_null()) | (LoginThrottle.locked_until < now)))
         .execute())
        (LoginThrottle.update(failures=LoginThrottle.failures + 1)
         .where(LoginThrottle.key == key).execute())
        (LoginThrottle.update(locked_until=now + window)
         .where((LoginThrottle.key == key) & (LoginThrottle.failures >= max_failures)
                & (LoginThrottle.locked_until.is_null() | (LoginThrottle.locked_until < now)))
         .execute())


def authenticate(email: str, password: str, *, now, max_failures=5, lock_seconds=900) -> User:
    """The user for these credentials, or ``Invalid``/``Throttled``. The same answer is given
    whether or not the account exists; failures count per typed address."""
    key = _throttle_key(email)
    if is_locked(email, now=now):
        raise Throttled(_l("Too many failed sign-ins for this account. Try again in a while."))
    user = User.get_or_none(User.email == key) if key else None
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "")
    has_membership = bool(user) and Member.select().where(
        (Member.user == user) & (Member.active == True)).exists()  # noqa: E712
    if not (user and ok and has_membership):
        _register_failure(key, now=now, max_failures=max_failures, lock_seconds=lock_seconds)
        raise Invalid([(None, BAD_CREDENTIALS)])
    LoginThrottle.delete().where(LoginThrottle.key == key).execute()
    return user


def memberships(user: User):
    """The user's active memberships, with their organisations, by organisation name."""
    return (Member.select(Member, Organisation, User).join(Organisation).switch(Member).join(User)
            .where((Member.user == user) & (Member.active == True))  # noqa: E712
            .order_by(Organisation.name))


def default_membership(user: User):
    """The organisation the user used last, else the first by name."""
    rows = list(memberships(user))
    if not rows:
        return None
    used = [m for m in rows if m.last_active_org_at]
    return max(used, key=lambda m: m.last_active_org_at) if used else rows[0]


def record_sign_in(member: Member, *, now):
    with database.atomic():
        Member.update(last_active_org_at=now).where(Member.id == member.id).execute()
        audit.record(member, "member.signed_in", organisation=member.organisation_id,
                     subject=member, now=now)


def set_preferences(user: User, *, locale=None, timezone=None):
    with database.atomic():
        User.update(locale=locale or None, timezone=timezone or None).where(User.id == user.id).execute()


def change_password(user: User, current: str, new: str):
    if not check_password_hash(user.password_hash, current or ""):
        raise Invalid([("current_password", _l("That is not your current password."))])
    with database.atomic():
        User.update(password_hash=hash_password(new), session_epoch=User.session_epoch + 1) \
            .where(User.id == user.id).execute()


def organisation_of(member_id):
    return Organisation.select().join(Member).where(Member.id == member_id).first()
