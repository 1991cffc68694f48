"""Every route against its access rule: anonymous, a member of another organisation, and the role
just below the one the route needs. A route with no rule here fails the first test, so a new
route cannot ship without a decision about who may use it.

Finer rules (inbox ownership, the case's own agent, a claim) are tested in each area's tests; this
file proves the floor under all of them.
"""
import re
from dataclasses import dataclass

import pytest

from escalation.models import ROLE_RANK, ROLES

from . import factories

# Routes anyone may use, signed in or not.
PUBLIC = {
    "static",
    "auth.login",
    "auth.set_language",
    "auth.logout",  # signing out when not signed in is a harmless redirect
    # The requester's confirmation link: a signed, expiring, single-use token is the credential.
    "sla.confirm", "sla.confirm_yes", "sla.confirm_no",
}

# The lowest role that may use each route ("agent" = any active member). Object-level rules come
# on top (the object must belong to the member's organisation, and area rules such as ownership).
RULES = {
    "auth.account": "agent", "auth.change_password": "agent",
    "auth.switch_organisation": "agent",
    # cases
    "cases.landing": "agent", "cases.next_case": "agent", "cases.request_more": "agent",
    "cases.new": "agent", "cases.show": "agent", "cases.region": "agent", "cases.reply": "agent",
    "cases.note": "agent", "cases.status": "agent", "cases.priority": "agent",
    "cases.inbound": "agent", "cases.take": "agent", "cases.reassign": "supervisor",
    "cases.contacts": "agent", "cases.contact": "agent", "cases.contact_search": "agent",
    "cases.new_contact": "agent",
    # threads
    "threads.index": "supervisor", "threads.escalation_filter": "supervisor",
    # admin
    "admin.index": "admin", "admin.members": "admin", "admin.add_member": "admin",
    "admin.member": "admin", "admin.update_member": "admin", "admin.deactivate_member": "admin",
    "admin.reactivate_member": "admin", "admin.queues": "admin", "admin.create_queue": "admin",
    "admin.queue": "admin", "admin.update_queue": "admin", "admin.archive_queue": "admin",
    "admin.unarchive_queue": "admin", "admin.set_queue_agents": "admin",
    "admin.organisation": "admin", "admin.update_organisation": "admin",
    # inboxes
    "inboxes.overview": "agent", "inboxes.agent_view": "supervisor",
    "inboxes.case_panel": "agent", "inboxes.claim": "agent", "inboxes.claim_next": "agent",
    "inboxes.escalate": "agent", "inboxes.escalate_selected": "supervisor",
    "inboxes.de_escalate": "agent", "inboxes.move": "agent", "inboxes.release": "agent",
    "inboxes.resolve": "agent",
    "inboxes.manage": "admin", "inboxes.create": "admin", "inboxes.edit": "admin",
    "inboxes.delete": "admin",
    # the escalation form, catalog and paths
    "escalations.catalog": "agent", "escalations.category": "agent", "escalations.form": "agent",
    "escalations.validate_field": "agent", "escalations.people": "agent",
    "escalations.download": "agent", "escalations.thumbnail": "agent",
    "escalations.detail_length": "agent", "escalations.next_tier": "agent",
    "escalations.send_back": "agent", "escalations.tiers": "agent",
    "escalations.admin": "admin", "escalations.admin_category": "admin",
    "escalations.admin_create_category": "admin", "escalations.admin_create_item": "admin",
    "escalations.admin_item": "admin", "escalations.admin_add_step": "admin",
    "escalations.admin_move_step": "admin", "escalations.admin_remove_step": "admin",
    # work sessions, handoff codes, routing directory
    "handoff.session": "agent", "handoff.start_session": "agent", "handoff.save_step": "agent",
    "handoff.save_notes": "agent", "handoff.add_photo": "agent", "handoff.photo": "agent",
    "handoff.remove_photo": "agent", "handoff.progress": "agent", "handoff.finish_session": "agent",
    "handoff.escalate_choices": "agent", "handoff.escalate": "agent",
    "handoff.issue_code": "agent", "handoff.code": "agent", "handoff.code_status": "agent",
    "handoff.revoke_code": "agent", "handoff.redeem_form": "agent", "handoff.preview": "agent",
    "handoff.take_over": "agent", "handoff.dismiss_notice": "agent",
    "handoff.directory": "agent", "handoff.route": "agent", "handoff.routed": "agent",
    "handoff.escalate_via_entry": "agent",
    "handoff.admin_directory": "admin", "handoff.new_entry": "admin", "handoff.edit_entry": "admin",
    "handoff.archive_entry": "admin", "handoff.admin_checklists": "admin",
    "handoff.create_checklist": "admin", "handoff.admin_checklist": "admin",
    "handoff.archive_checklist": "admin", "handoff.add_checklist_step": "admin",
    "handoff.edit_checklist_step": "admin", "handoff.move_checklist_step": "admin",
    "handoff.remove_checklist_step": "admin", "handoff.settings": "admin",
    # SLA, notifications, knowledge
    "sla.case_clocks": "agent", "sla.resolve": "agent", "sla.resolve_page": "agent",
    "sla.solved_with": "agent", "sla.notification_list": "agent", "sla.notification_count": "agent",
    "sla.open_notification": "agent", "sla.mark_all_read": "agent",
    "sla.articles": "agent", "sla.article": "agent", "sla.article_new": "agent",
    "sla.article_create": "agent", "sla.article_edit": "agent", "sla.article_suggestions": "agent",
    "sla.canned_list": "agent",
    "sla.canned_create": "admin", "sla.canned_edit": "admin", "sla.canned_delete": "admin",
    "sla.settings": "admin", "sla.save_hours": "admin", "sla.save_policy": "admin",
    "sla.save_tier_target": "admin", "sla.add_closed_day": "admin",
    "sla.remove_closed_day": "admin", "sla.ladder": "admin", "sla.add_step": "admin",
    "sla.remove_step": "admin",
    # reports
    "reports.index": "supervisor", "reports.export": "supervisor",
}

# Values for path parameters that are not object ids.
PLAIN_VALUES = {"region": "header", "direction": "up", "kind": "policy", "name": "serial_number",
                "token": "not-a-token", "priority": "2", "filename": "app.css",
                "report": "inboxes"}


@dataclass
class Route:
    endpoint: str
    rule: str
    methods: tuple
    params: tuple


def _routes(app):
    out = []
    for rule in app.url_map.iter_rules():
        methods = tuple(sorted(m for m in rule.methods if m in ("GET", "POST")))
        out.append(Route(rule.endpoint, rule.rule, methods, tuple(rule.arguments)))
    return sorted(out, key=lambda r: (r.endpoint, r.rule))


def _url(route, ids):
    def value(match):
        name = match.group(2)
        if name in PLAIN_VALUES:
            return PLAIN_VALUES[name]
        return str(ids(route, name))
    return re.sub(r"<(?:([a-z]+)(?:\([^)]*\))?:)?([a-z_]+)>", value, route.rule)


def _fetch(client, method, url, **kwargs):
    if method == "GET":
        return client.get(url, **kwargs)
    return client.post(url, data={}, **kwargs)


def _has_ids(route):
    return any(p not in PLAIN_VALUES for p in route.params) or "owner_id" in route.params


# ------------------------------------------------------------------------------------------------

def test_every_route_has_an_access_rule(app):
    endpoints = {route.endpoint for route in _routes(app)}
    missing = sorted(endpoints - set(RULES) - PUBLIC)
    assert missing == [], f"routes without an access rule in tests/test_authorization.py: {missing}"
    stale = sorted(set(RULES) - endpoints)
    assert stale == [], f"rules for routes that no longer exist: {stale}"
    assert set(RULES.values()) <= set(ROLES)


def test_anonymous_visitors_are_sent_to_sign_in(app, client):
    client.get("/auth/login")  # a CSRF token, so POSTs reach the sign-in check
    failures = []
    for route in _routes(app):
        if route.endpoint in PUBLIC:
            continue
        url = _url(route, lambda r, name: 1)
        for method in route.methods:
            response = _fetch(client, method, url)
            if response.status_code != 302 or "/auth/login" not in response.headers.get("Location", ""):
                failures.append((method, url, response.status_code))
            htmx = _fetch(client, method, url, htmx=True)
            if htmx.status_code != 401 or "/auth/login" not in htmx.headers.get("HX-Redirect", ""):
                failures.append(("htmx " + method, url, htmx.status_code))
    assert failures == []


# ------------------------------------------------------------------------------------------------
# A world of objects in the organisation `org`, one of each kind a URL can name.

def _build_world(org):
    from escalation.escalations.models import Attachment, CatalogCategory, PathStep
    from escalation.handoff.models import (ChecklistStep, HandoffNotice, RoutingUse,
                                           SessionPhoto)
    from escalation.sla.models import Article, CannedResponse, ClosedDay, LadderStep, Notification

    from . import factories_escalations as fe
    from . import factories_handoff as fh

    world = {}
    lead = factories.make_member(org, "owner")
    agent = factories.make_member(org, "agent")
    desk = fe.make_desk(org, agent)
    case = factories.make_case(org, desk.queue, assignee=agent, first_message="Help")
    checklist = fh.make_checklist(org, lead)
    session = fh.start(case, agent, checklist)
    code, _plain = fh.issue(case, agent)
    entry = fh.make_entry(org, lead)
    contact = factories.make_contact(org)
    world.update(
        case_id=case.id, queue_id=desk.queue.id, member_id=agent.id, contact_id=contact.id,
        inbox_id=desk.l2.id, item_id=desk.item.id,
        category_id=CatalogCategory.select().where(CatalogCategory.organisation == org).first().id,
        checklist_id=checklist.id, session_id=session.id, code_id=code.id, entry_id=entry.id,
        owner_id=None,
    )

    def first_id(model, *where):
        row = model.select(model.id).where(*where).first() if where else model.select(model.id).first()
        return row.id if row else 10 ** 6

    world["path_step_id"] = first_id(PathStep)
    world["checklist_step_id"] = first_id(ChecklistStep)
    world["attachment_id"] = first_id(Attachment, Attachment.organisation == org)
    world["photo_id"] = first_id(SessionPhoto)
    world["notice_id"] = first_id(HandoffNotice)
    world["use_id"] = first_id(RoutingUse)
    world["notification_id"] = first_id(Notification)
    world["canned_id"] = first_id(CannedResponse)
    world["article_id"] = first_id(Article)
    world["day_id"] = first_id(ClosedDay)
    world["ladder_step_id"] = first_id(LadderStep)
    return world


def _ids_in(world):
    def ids(route, name):
        if name == "step_id":
            if route.endpoint.startswith("escalations."):
                return world["path_step_id"]
            if route.endpoint.startswith("sla."):
                return world["ladder_step_id"]
            return world["checklist_step_id"]
        if name == "owner_id":  # sla ladders: /ladders/policy/<owner_id>
            return world.get("policy_id") or 10 ** 6
        return world.get(name) or 10 ** 6
    return ids


def test_another_organisations_objects_are_404(client, org, outsider, login):
    world = _build_world(org)
    login(outsider)  # an owner, but of another organisation
    failures, checked = [], 0
    for route in _routes(_app(client)):
        if route.endpoint in PUBLIC or not _has_ids(route):
            continue
        url = _url(route, _ids_in(world))
        for method in route.methods:
            response = _fetch(client, method, url)
            checked += 1
            if response.status_code != 404:
                failures.append((method, url, response.status_code))
    assert failures == []
    assert checked > 60


@pytest.mark.parametrize("needed", ["supervisor", "admin"])
def test_the_role_below_is_refused(client, org, login, needed):
    world = _build_world(org)
    below = ROLES[ROLE_RANK[needed] - 2]
    login(factories.make_member(org, below))
    failures, checked = [], 0
    for route in _routes(_app(client)):
        if RULES.get(route.endpoint) != needed:
            continue
        url = _url(route, _ids_in(world))
        for method in route.methods:
            response = _fetch(client, method, url)
            checked += 1
            if response.status_code != 403:
                failures.append((method, url, response.status_code))
    assert failures == []
    assert checked >= 3


def _app(client):
    return client.application
