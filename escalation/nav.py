"""Extension points between areas, so an area adds itself without editing another's files.

- ``register_panel(page, name, template, context=None, order=50)``: a region on a shared page
  (``"case"`` for the case page, ``"landing"`` for a member's landing page). ``context(member,
  obj, now)`` returns the template's variables, or None to leave the panel out.
- ``register_nav(endpoint, label, visible=None, order=50)``: a link in the header.

Pages render their panels with ``{% for panel in panels %}{% include panel.template %}``.
"""
from dataclasses import dataclass, field
from typing import Callable

from flask import current_app
from flask_login import current_user


@dataclass(order=True)
class Panel:
    order: int
    name: str = field(compare=False)
    template: str = field(compare=False)
    context: Callable | None = field(default=None, compare=False)


@dataclass(order=True)
class NavLink:
    order: int
    endpoint: str = field(compare=False)
    label: object = field(compare=False)
    visible: Callable | None = field(default=None, compare=False)


_panels: dict[str, dict[str, Panel]] = {}
_nav: dict[str, NavLink] = {}


def register_panel(page, name, template, context=None, order=50):
    _panels.setdefault(page, {})[name] = Panel(order, name, template, context)


def register_nav(endpoint, label, visible=None, order=50):
    _nav[endpoint] = NavLink(order, endpoint, label, visible)


@dataclass
class RenderedPanel:
    name: str
    template: str
    vars: dict


def panels_for(page, member, obj=None, *, now=None):
    """The panels of ``page`` to show this member, each with its context computed."""
    shown = []
    for panel in sorted(_panels.get(page, {}).values()):
        variables = panel.context(member, obj, now) if panel.context else {}
        if variables is not None:
            shown.append(RenderedPanel(panel.name, panel.template, variables))
    return shown


def nav_links():
    if not current_user or not current_user.is_authenticated:
        return []
    links = []
    for link in sorted(_nav.values()):
        if link.endpoint not in current_app.view_functions:
            continue
        if link.visible is None or link.visible(current_user):
            links.append(link)
    return links


def has_endpoint(name):
    return name in current_app.view_functions


def init_app(app):
    app.add_template_global(nav_links)
    app.add_template_global(has_endpoint)


# Row annotators: a list page asks every registered annotator once per page (never per row), with
# the ids shown, for extra badges: ``fn(case_ids, member, now) -> {case_id: [badge, ...]}`` where
# a badge is ``{"label": str, "kind": "escalated" | "overdue" | ..., "title": str | None}``.
_annotators: dict[str, dict[str, Callable]] = {}


def register_annotator(page, name, fn):
    _annotators.setdefault(page, {})[name] = fn


def annotations_for(page, ids, member, now):
    badges: dict[int, list] = {}
    ids = list(ids)
    if not ids:
        return badges
    for name in sorted(_annotators.get(page, {})):
        for case_id, found in (_annotators[page][name](ids, member, now) or {}).items():
            badges.setdefault(case_id, []).extend(found)
    return badges
