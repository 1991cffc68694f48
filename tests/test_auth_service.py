"""Sign-in rules, called directly with a fixed clock."""
from datetime import timedelta

import pytest

from escalation.auth import service
from escalation.errors import Invalid, Throttled
from escalation.models import LoginThrottle, User

from .factories import NOW, PASSWORD, make_member, make_org


def test_authenticate_accepts_the_right_password(agent):
    assert service.authenticate("ALICE@example.test ", PASSWORD, now=NOW).id == agent.user_id


def test_authenticate_refuses_a_wrong_password(agent):
    with pytest.raises(Invalid) as caught:
        service.authenticate("alice@example.test", "wrong", now=NOW)
    assert caught.value.reasons[0][0] is None


def test_unknown_and_known_accounts_fail_alike(agent):
    with pytest.raises(Invalid) as known:
        service.authenticate("alice@example.test", "wrong", now=NOW)
    with pytest.raises(Invalid) as unknown:
        service.authenticate("nobody@example.test", "wrong", now=NOW)
    assert str(known.value.message) == str(unknown.value.message)


def test_failures_lock_the_account_key_then_unlock_after_the_window(agent):
    for _ in range(3):
        with pytest.raises(Invalid):
            service.authenticate("alice@example.test", "wrong", now=NOW, max_failures=3,
                                 lock_seconds=600)
    with pytest.raises(Throttled):  # even the right password is refused while locked
        service.authenticate("alice@example.test", PASSWORD, now=NOW + timedelta(seconds=10),
                             max_failures=3, lock_seconds=600)
    later = NOW + timedelta(seconds=601)
    assert service.authenticate("alice@example.test", PASSWORD, now=later, max_failures=3,
                                lock_seconds=600).id == agent.user_id
    assert LoginThrottle.get_or_none(LoginThrottle.key == "alice@example.test") is None


def test_unknown_accounts_are_throttled_the_same_way(db):
    for _ in range(3):
        with pytest.raises(Invalid):
            service.authenticate("ghost@example.test", "x", now=NOW, max_failures=3, lock_seconds=600)
    with pytest.raises(Throttled):
        service.authenticate("ghost@example.test", "x", now=NOW, max_failures=3, lock_seconds=600)


def test_old_failures_outside_the_window_do_not_add_up(agent):
    for minute in (0, 20, 40):  # one failure every 20 minutes, window 10 minutes
        with pytest.raises(Invalid):
            service.authenticate("alice@example.test", "wrong", now=NOW + timedelta(minutes=minute),
                                 max_failures=2, lock_seconds=600)
    assert not service.is_locked("alice@example.test", now=NOW + timedelta(minutes=41))


def test_a_user_without_active_membership_cannot_sign_in(org):
    member = make_member(org, "agent", active=False)
    with pytest.raises(Invalid):
        service.authenticate(member.user.email, PASSWORD, now=NOW)


def test_default_membership_is_the_last_used_organisation(org):
    member = make_member(org, "agent")
    second_org = make_org()
    second = make_member(second_org, "admin", user=member.user)
    assert service.default_membership(member.user).organisation_id in (org.id, second_org.id)
    service.record_sign_in(second, now=NOW)
    assert service.default_membership(member.user).id == second.id


def test_change_password_checks_the_current_one_and_ends_other_sessions(agent):
    with pytest.raises(Invalid) as caught:
        service.change_password(agent.user, "wrong", "a new long password")
    assert caught.value.reasons[0][0] == "current_password"
    service.change_password(agent.user, PASSWORD, "a new long password")
    user = User.get_by_id(agent.user_id)
    assert user.session_epoch == agent.user.session_epoch + 1
    assert service.authenticate(user.email, "a new long password", now=NOW).id == user.id


def test_passwords_are_hashed_with_a_current_algorithm(agent):
    assert agent.user.password_hash.startswith(("scrypt:", "pbkdf2:sha256"))
    assert PASSWORD not in agent.user.password_hash
