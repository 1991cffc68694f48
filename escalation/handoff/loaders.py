"""Org-scoped loaders for the handoff area's objects: another organisation's object is a 404."""
from flask import abort
from flask_login import current_user

from ..models import Case
from ..web import case_or_404, get_or_404
from .models import (Checklist, ChecklistStep, HandoffCode, HandoffNotice, RoutingEntry,
                     RoutingUse, SessionPhoto, SessionStep, WorkSession)


def checked_action(form_class=None):
    """A bare POST (revoke, finish, archive, dismiss...): its form holds only the CSRF token."""
    from .forms import ActionForm
    if not (form_class or ActionForm)().validate_on_submit():
        abort(400)


def _org():
    return current_user.organisation_id


def session_or_404(session_id) -> WorkSession:
    return get_or_404(WorkSession.select(WorkSession, Case).join(Case)
                      .where((WorkSession.id == session_id) & (WorkSession.organisation == _org())))


def step_or_404(session, step_id) -> SessionStep:
    return get_or_404(SessionStep.select().where((SessionStep.id == step_id)
                                                 & (SessionStep.session == session.id)))


def photo_or_404(photo_id) -> SessionPhoto:
    """The photo's details, without its bytes."""
    return get_or_404(SessionPhoto.listing(None).where((SessionPhoto.id == photo_id)
                                                       & (SessionPhoto.organisation == _org())))


def code_or_404(code_id) -> HandoffCode:
    return get_or_404(HandoffCode.select().where((HandoffCode.id == code_id)
                                                 & (HandoffCode.organisation == _org())))


def notice_or_404(notice_id) -> HandoffNotice:
    return get_or_404(HandoffNotice.select().where((HandoffNotice.id == notice_id)
                                                   & (HandoffNotice.organisation == _org())
                                                   & (HandoffNotice.member == current_user.id)))


def checklist_or_404(checklist_id) -> Checklist:
    return get_or_404(Checklist.select().where((Checklist.id == checklist_id)
                                               & (Checklist.organisation == _org())))


def checklist_step_or_404(step_id) -> ChecklistStep:
    return get_or_404(ChecklistStep.select().where((ChecklistStep.id == step_id)
                                                   & (ChecklistStep.organisation == _org())))


def entry_or_404(entry_id, *, include_archived=False) -> RoutingEntry:
    query = RoutingEntry.for_org(_org(), include_archived=include_archived).where(RoutingEntry.id == entry_id)
    return get_or_404(query)


def use_or_404(use_id) -> RoutingUse:
    return get_or_404(RoutingUse.select().where((RoutingUse.id == use_id)
                                                & (RoutingUse.organisation == _org())))


__all__ = ["checked_action", "case_or_404", "session_or_404", "step_or_404", "photo_or_404", "code_or_404",
           "notice_or_404", "checklist_or_404", "checklist_step_or_404", "entry_or_404",
           "use_or_404"]
