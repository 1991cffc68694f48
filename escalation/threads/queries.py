"""The threads view's reads: every case of an organisation, filtered, in keyset pages on
``id DESC``, and the counts shown beside the list. Nothing here changes state.

Per page: one row query (``support_case`` alone), one query for the counts per status (capped)
together with the names the rows show (looked up by id), and, on the full page, one query for
the filter's choices and the escalation inboxes with their counts. No OFFSET and no unbounded
count: what a page costs does not grow with the rows shown or stored (beyond what a free-text
search has to scan).
"""
import operator
from collections import namedtuple
from dataclasses import dataclass, field
from functools import reduce

from peewee import SQL, Select, Value, fn

from .. import sqlcache
from ..db import database
from ..models import CASE_STATUSES, Case, Contact, Inbox, Member, Queue, User

UNASSIGNED = "none"
ANY_INBOX = "any"


@dataclass(frozen=True)
class ThreadFilter:
    """What the threads view is narrowed to. Empty values mean "all"."""

    q: str = ""
    queue: int | None = None
    status: str | None = None
    reply: str | None = None
    assignee: int | str | None = None  # a member id, or UNASSIGNED
    priority: int | None = None
    inboxes: tuple = field(default=())  # inbox ids; ANY_INBOX among them means "any escalated"

    @property
    def any_inbox(self) -> bool:
        return ANY_INBOX in self.inboxes

    @property
    def inbox_ids(self) -> tuple:
        return tuple(i for i in self.inboxes if i != ANY_INBOX)


@dataclass
class Page:
    rows: list
    older: int | None  # the cursor for the next (older) page, if there is one
    newer: int | None  # the cursor for the previous (newer) page, if there is one


def _contacts_matching(org_id, text):
    return (Contact.select(Contact.id)
            .where((Contact.organisation == org_id)
                   & (Contact.name.contains(text) | Contact.email.contains(text))))


def conditions(org_id, flt: ThreadFilter, *, with_status=True):
    """The WHERE clause for this filter, on ``support_case`` alone (no joins needed)."""
    terms = [Case.organisation == org_id]
    if flt.q:
        contacts = _contacts_matching(org_id, flt.q)
        terms.append(Case.subject.contains(flt.q) | Case.requester.in_(contacts)
                     | Case.requested_for.in_(contacts))
    if flt.queue is not None:
        terms.append(Case.queue == flt.queue)
    if with_status and flt.status:
        terms.append(Case.status == flt.status)
    if flt.reply:
        terms.append(Case.reply_status == flt.reply)
    if flt.assignee == UNASSIGNED:
        terms.append(Case.assignee.is_null())
    elif flt.assignee is not None:
        terms.append(Case.assignee == flt.assignee)
    if flt.priority is not None:
        terms.append(Case.priority == flt.priority)
    if flt.any_inbox:
        terms.append(Case.inbox.is_null(False))
    elif flt.inbox_ids:
        terms.append(Case.inbox.in_(flt.inbox_ids))
    return reduce(operator.and_, terms)


class Shape:
    """What the SQL text of a filter depends on, for ``sqlcache``: which terms are set (and how
    many inboxes), apart from their values. ``values`` are those values in a fixed order and
    ``make(*values)`` the same filter with other values (the stand-ins the cache compiles
    with). None for a free-text search, whose values reach the SQL as ``LIKE`` patterns."""

    FIELDS = ("queue", "status", "reply", "assignee", "priority")

    def __init__(self, flt: ThreadFilter):
        # Set as ``conditions`` reads them: an id or a code, not "all" (None, "") or UNASSIGNED.
        self.set = tuple(name for name in self.FIELDS
                         if getattr(flt, name) not in (None, "")
                         and not (name == "assignee" and flt.assignee == UNASSIGNED))
        self.unassigned = flt.assignee == UNASSIGNED
        self.any_inbox = flt.any_inbox
        inbox_ids = () if self.any_inbox else sqlcache.padded(int(i) for i in flt.inbox_ids)
        self.values = tuple(getattr(flt, name) for name in self.set) + (inbox_ids,)
        self.key = (self.set, self.unassigned, self.any_inbox, len(inbox_ids))

    @classmethod
    def of(cls, flt: ThreadFilter):
        return None if flt.q else cls(flt)

    def make(self, *values) -> ThreadFilter:
        *fields, inbox_ids = values
        given = dict(zip(self.set, fields))
        if self.unassigned:
            given["assignee"] = UNASSIGNED
        return ThreadFilter(inboxes=(ANY_INBOX,) if self.any_inbox else inbox_ids, **given)


Row = namedtuple("Row", "id subject status reply_status priority inbox_id contact_name queue_name "
                       "assignee_name inbox_name claimant_name claim_live")

# What the row query reads: ``support_case`` alone (ids where the row shows a name).
_Bare = namedtuple("_Bare", "id subject status reply_status priority inbox_id requester_id "
                            "queue_id assignee_id claimed_by_id claim_live")


def _row_query(org_id, flt, now, limit, direction, cursor):
    """The rows, from ``support_case`` alone: joining the names' five tables here cost
    PostgreSQL more to plan than to run (16-28 ms against 1-2 ms); the names of the page's
    rows come afterwards in one lookup by id (``details``)."""
    query = (Case.select(Case.id, Case.subject, Case.status, Case.reply_status, Case.priority,
                         Case.inbox, Case.requester, Case.queue, Case.assignee, Case.claimed_by,
                         Case.claim_live_expr(now))
             .where(conditions(org_id, flt)))
    if direction == "newer":
        query = query.where(Case.id > cursor).order_by(Case.id.asc())
    elif direction == "older":
        query = query.where(Case.id < cursor).order_by(Case.id.desc())
    else:
        query = query.order_by(Case.id.desc())
    return query.limit(limit).tuples()


def _fetch(org_id, flt, now, limit, direction=None, cursor=None):
    shape = Shape.of(flt)
    if shape is None:
        return [_Bare._make(row) for row in _row_query(org_id, flt, now, limit, direction, cursor)]
    size = len(shape.values)

    def build(org_id, now, limit, *rest):
        return _row_query(org_id, shape.make(*rest[:size]), now, limit, direction,
                          rest[size] if direction else None)

    extra = (cursor,) if direction else ()
    return [_Bare._make(row) for row in sqlcache.rows(("threads.rows", shape.key, direction),
                                                      build, org_id, now, limit,
                                                      *shape.values, *extra)]


def page(org_id, flt: ThreadFilter, *, now, size, older=None, newer=None) -> Page:
    """A keyset page on ``id DESC``: the newest cases, or those older than ``older``, or the page
    just newer than ``newer``. No OFFSET, so a deep page costs what the first one does, and
    cases added meanwhile never shift a page that follows. The rows name things by id;
    ``details`` gives them their names."""
    if newer is not None:
        rows = _fetch(org_id, flt, now, size + 1, "newer", newer)
        if len(rows) > size:
            rows = rows[:size][::-1]
            return Page(rows, older=rows[-1].id, newer=rows[0].id)
        # Back at the newest cases: show a full first page rather than a short one.
        older = None
    if older is not None:
        rows = _fetch(org_id, flt, now, size + 1, "older", older)
    else:
        rows = _fetch(org_id, flt, now, size + 1)
    has_older = len(rows) > size
    rows = rows[:size]
    return Page(rows,
                older=rows[-1].id if has_older and rows else None,
                newer=rows[0].id if older is not None and rows else None)


def _null(sql_type):
    """A typed NULL: PostgreSQL types a UNION's columns pair by pair, and two untyped NULLs
    would make a text column that the next arm's integers cannot join."""
    return SQL(f"CAST(NULL AS {sql_type})")


def _status_arms(org_id, flt, limit):
    """Cases per status under every filter but the status one, each counted up to ``limit``
    (the cap + 1: more than the cap reads "cap+"): an index range per status, so the cost stays
    bounded as the table grows instead of scanning every case of the organisation."""
    where = conditions(org_id, flt, with_status=False)
    for status in CASE_STATUSES:
        some = (Case.select(SQL("1")).where(where & (Case.status == status))
                .limit(limit).alias(f"some_{status}"))
        yield Select([some], [Value(status), fn.COUNT(SQL("*")), _null("TEXT")])


# The kinds of name the rows show, looked up by id (never one of CASE_STATUSES).
NAME_KINDS = ("contact", "queue", "member", "inbox")
assert not set(NAME_KINDS) & set(CASE_STATUSES)


def _name_arms(org_id, contact_ids, queue_ids, member_ids, inbox_ids):
    """``(kind, id, name)`` for the contacts, queues, members and inboxes the rows name."""
    if contact_ids:
        yield (Contact.select(Value("contact"), Contact.id, Contact.name)
               .where((Contact.organisation == org_id) & Contact.id.in_(contact_ids)))
    if queue_ids:
        yield (Queue.select(Value("queue"), Queue.id, Queue.name)
               .where((Queue.organisation == org_id) & Queue.id.in_(queue_ids)))
    if member_ids:
        yield (Member.select(Value("member"), Member.id, User.name).join(User)
               .where((Member.organisation == org_id) & Member.id.in_(member_ids)))
    if inbox_ids:
        yield (Inbox.select(Value("inbox"), Inbox.id, Inbox.name)
               .where((Inbox.organisation == org_id) & Inbox.id.in_(inbox_ids)))


def _details_query(org_id, flt, limit, *ids):
    return reduce(operator.add, [*_status_arms(org_id, flt, limit), *_name_arms(org_id, *ids)])


def details(org_id, flt: ThreadFilter, rows, *, cap: int):
    """The counts per status (see ``_status_arms``) and what the page's rows show by name, in
    one query: ``(counts, rows)`` with ``counts`` as ``{status: n}`` and the rows as ``Row``."""
    ids = (sqlcache.padded(r.requester_id for r in rows if r.requester_id is not None),
           sqlcache.padded(r.queue_id for r in rows),
           sqlcache.padded([r.assignee_id for r in rows if r.assignee_id is not None]
                           + [r.claimed_by_id for r in rows
                              if r.claim_live and r.claimed_by_id is not None]),
           sqlcache.padded(r.inbox_id for r in rows if r.inbox_id is not None))
    shape = Shape.of(flt)
    if shape is None:
        found = _details_query(org_id, flt, cap + 1, *ids).bind(database).tuples()
    else:
        size = len(shape.values)
        found = sqlcache.rows(
            ("threads.details", shape.key, tuple(len(i) for i in ids)),
            lambda org_id, limit, *rest: _details_query(org_id, shape.make(*rest[:size]), limit,
                                                        *rest[size:]),
            org_id, cap + 1, *shape.values, *ids)
    counts, names = {}, {kind: {} for kind in NAME_KINDS}
    for kind, ident, name in found:
        if kind in names:
            names[kind][ident] = name
        else:
            counts[kind] = ident
    contacts, queues, members, inboxes = (names[kind] for kind in NAME_KINDS)
    return counts, [
        Row(r.id, r.subject, r.status, r.reply_status, r.priority, r.inbox_id,
            contacts.get(r.requester_id), queues.get(r.queue_id), members.get(r.assignee_id),
            inboxes.get(r.inbox_id), members.get(r.claimed_by_id) if r.claim_live else None,
            r.claim_live)
        for r in rows]


def status_counts(org_id, flt: ThreadFilter, *, cap: int) -> dict:
    """The counts per status alone (``details`` without rows)."""
    return details(org_id, flt, (), cap=cap)[0]


@dataclass(frozen=True)
class InboxCount:
    id: int
    name: str
    total: int
    needs_response: int


def _inbox_arm(org_id):
    """Every live inbox with its open cases and those of them that need a response:
    ``("inbox", id, name, total, needs)``. "Open in the inbox" is ``Case.is_open_expr()``, the
    predicate the inbox pages count with. Each count is a subquery per inbox that the index
    ``(inbox_id, organisation_id, status, reply_status)`` answers alone, so it reads that
    inbox's open cases and nothing else (a join or a grouped count over ``support_case`` let
    the planners walk other indexes: every escalated case's row on SQLite, the NULL entries
    of ``inbox_id`` on PostgreSQL)."""
    in_inbox = (Case.inbox == Inbox.id) & (Case.organisation == org_id) & Case.is_open_expr()
    total = Case.select(fn.COUNT(SQL("*"))).where(in_inbox)
    needs = Case.select(fn.COUNT(SQL("*"))).where(in_inbox
                                                  & (Case.reply_status == "needs_response"))
    return (Inbox.select(Value("inbox"), Inbox.id, Inbox.name, total, needs)
            .where((Inbox.organisation == org_id) & Inbox.deleted_at.is_null()))


def _by_name(rows):
    return sorted(rows, key=lambda row: (row[1].casefold(), row[0]))


def _inbox_count(ident, name, total, needs):
    return InboxCount(ident, name, int(total or 0), int(needs or 0))


def inbox_counts(org_id) -> list[InboxCount]:
    """Every live inbox with its open cases and those of them that need a response."""
    rows = sqlcache.rows(("threads.inbox_counts",), _inbox_arm, org_id)
    return [_inbox_count(*row) for row in _by_name([row[1:] for row in rows])]


def _filter_panel_query(org_id):
    queues = (Queue.select(Value("queue").alias("kind"), Queue.id, Queue.name,
                           _null("INTEGER"), _null("INTEGER"))
              .where((Queue.organisation == org_id) & Queue.archived_at.is_null()))
    members = (Member.select(Value("member"), Member.id, User.name,
                             _null("INTEGER"), _null("INTEGER")).join(User)
               .where((Member.organisation == org_id) & (Member.active == True)))  # noqa: E712
    return queues + members + _inbox_arm(org_id)


def filter_panel(org_id):
    """What the filter form offers, in one query: the live queues and the active members (for
    the queue and assignee filters) as lists of ``(id, name)``, and every live inbox with its
    counts (``InboxCount``), each sorted by name."""
    found = {"queue": [], "member": [], "inbox": []}
    for kind, ident, name, total, needs in sqlcache.rows(("threads.filter_panel",),
                                                          _filter_panel_query, org_id):
        found[kind].append((ident, name, total, needs))
    return ([row[:2] for row in _by_name(found["queue"])],
            [row[:2] for row in _by_name(found["member"])],
            [_inbox_count(*row) for row in _by_name(found["inbox"])])
