"""Links from the handoff area's curated rows (checklists, routing entries) to the service catalog,
and the catalog item a case came in through.

A row is linked to one catalog item, or to one whole category, or to neither ("general"). The
link is kept as plain integers (``catalog_item_id``/``catalog_category_id``, no foreign key), so
it is always checked here against the organisation's own catalog. In forms the link is one select
whose values read ``item-<id>``, ``category-<id>`` or ``""``.
"""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice

from ..errors import Invalid
from ..escalations.models import CatalogCategory, CatalogItem, EscalationPacket

GENERAL = ""
FIELD = "catalog"


@dataclass(frozen=True)
class Link:
    """A resolved link: the columns to store (at most one is set)."""

    catalog_category_id: int | None = None
    catalog_item_id: int | None = None

    def fields(self):
        return {"catalog_category_id": self.catalog_category_id,
                "catalog_item_id": self.catalog_item_id}


def value_of(row) -> str:
    """The form value of a row's link."""
    if getattr(row, "catalog_item_id", None):
        return f"item-{row.catalog_item_id}"
    if getattr(row, "catalog_category_id", None):
        return f"category-{row.catalog_category_id}"
    return GENERAL


def _parse(value):
    value = (value or "").strip()
    if not value:
        return None, None
    kind, _, number = value.partition("-")
    if kind not in ("item", "category") or not number.isdigit():
        raise Invalid([(FIELD, _l("Choose one of your organisation's catalog items or "
                                  "categories."))])
    return kind, int(number)


def _org_id(org):
    return getattr(org, "id", org)


def resolve(org, value, *, current=GENERAL) -> Link:
    """The link chosen in a form, checked against the organisation's catalog. Another
    organisation's (or an unknown) item or category is refused; an archived one only when it is
    not already the row's link (``current``), so saving a row does not silently drop it."""
    kind, number = _parse(value)
    if kind is None:
        return Link()
    org_id = _org_id(org)
    if kind == "item":
        row = (CatalogItem.select(CatalogItem, CatalogCategory).join(CatalogCategory)
               .where((CatalogItem.id == number) & (CatalogItem.organisation == org_id)).first())
        archived = row is not None and (row.archived_at is not None
                                        or row.category.archived_at is not None)
    else:
        row = CatalogCategory.get_or_none((CatalogCategory.id == number)
                                          & (CatalogCategory.organisation == org_id))
        archived = row is not None and row.archived_at is not None
    if row is None:
        raise Invalid([(FIELD, _l("Choose one of your organisation's catalog items or "
                                  "categories."))])
    if archived and value.strip() != current:
        raise Invalid([(FIELD, _l("That catalog item or category is archived. Choose another."))])
    return Link(catalog_item_id=number) if kind == "item" else Link(catalog_category_id=number)


def choices(org, *, general_label, current=GENERAL):
    """The select's options: "general" first, then per category (an optgroup) the whole category
    and each of its items; the row's current link is kept even when it is archived."""
    categories = list(CatalogCategory.for_org(org))
    items = list(CatalogItem.for_org(org))
    options = [SelectChoice(GENERAL, str(general_label))]
    seen = set()
    for category in categories:
        group = str(category.label())
        value = f"category-{category.id}"
        seen.add(value)
        options.append(SelectChoice(value, str(_whole(category)), optgroup=group))
        for item in items:
            if item.category_id == category.id:
                seen.add(f"item-{item.id}")
                options.append(SelectChoice(f"item-{item.id}", str(item.label()), optgroup=group))
    if current and current not in seen:
        label = labels(org, [current]).get(current)
        if label:
            options.append(SelectChoice(current, str(_l("%(name)s (archived)", name=label)),
                                        optgroup=str(_l("Archived"))))
    return options


def labels(org, values) -> dict:
    """{form value: what it names} for the given link values ("Laptops (Hardware)" for an item),
    in two queries; values naming nothing of the organisation's are left out."""
    item_ids = {int(v[5:]) for v in values if v and v.startswith("item-")}
    category_ids = {int(v[9:]) for v in values if v and v.startswith("category-")}
    found = {}
    if item_ids:
        for item in (CatalogItem.select(CatalogItem, CatalogCategory).join(CatalogCategory)
                     .where((CatalogItem.id.in_(item_ids))
                            & (CatalogItem.organisation == _org_id(org)))):
            found[f"item-{item.id}"] = f"{item.label()} ({item.category.label()})"
    if category_ids:
        for category in CatalogCategory.select().where(
                (CatalogCategory.id.in_(category_ids))
                & (CatalogCategory.organisation == _org_id(org))):
            found[f"category-{category.id}"] = str(_whole(category))
    return found


def _whole(category):
    return _l("%(category)s (whole category)", category=category.label())


def row_labels(org, rows) -> dict:
    """{row id: the catalog item or category the row is linked to, as shown} (two queries);
    general rows, and rows whose link names nothing of the organisation's, are left out."""
    values = {row.id: value_of(row) for row in rows}
    found = labels(org, set(values.values()))
    return {row_id: found[value] for row_id, value in values.items() if value in found}


def case_catalog(case):
    """(item, category) the case came in through: the item of its latest escalation form, or
    (None, None) when no form was ever submitted for it."""
    packet = (EscalationPacket.select(EscalationPacket.item)
              .where((EscalationPacket.case == case)
                     & (EscalationPacket.organisation == case.organisation_id)
                     & EscalationPacket.item.is_null(False))
              .order_by(EscalationPacket.submitted_at.desc(), EscalationPacket.id.desc()).first())
    if packet is None:
        return None, None
    item = (CatalogItem.select(CatalogItem, CatalogCategory).join(CatalogCategory)
            .where((CatalogItem.id == packet.item_id)
                   & (CatalogItem.organisation == case.organisation_id)).first())
    if item is None:
        return None, None
    return item, item.category


@dataclass
class Group:
    """Rows offered under one heading: ``kind`` is "item", "category", "general" or "other"."""

    kind: str
    label: str
    rows: list


def group(rows, item, category, *, general_label, other_label) -> list[Group]:
    """``rows`` (each with a catalog link) grouped for a case that came in through ``item`` of
    ``category`` (both None: nothing is suggested): first those for the item, then for the
    category, then the general ones, then the rest. Empty groups are left out; the order within
    a group is kept."""
    groups = {"item": [], "category": [], "general": [], "other": []}
    for row in rows:
        if item is not None and row.catalog_item_id == item.id:
            groups["item"].append(row)
        elif (category is not None and row.catalog_item_id is None
              and row.catalog_category_id == category.id):
            groups["category"].append(row)
        elif row.catalog_item_id is None and row.catalog_category_id is None:
            groups["general"].append(row)
        else:
            groups["other"].append(row)
    out = []
    if groups["item"]:
        out.append(Group("item", str(_l("Suggested for %(name)s", name=item.label())),
                         groups["item"]))
    if groups["category"]:
        out.append(Group("category", str(_l("Suggested for %(name)s", name=category.label())),
                         groups["category"]))
    if groups["general"]:
        out.append(Group("general", str(general_label), groups["general"]))
    if groups["other"]:
        out.append(Group("other", str(other_label), groups["other"]))
    return out
