"""The threads view's reads: every case of an organisation, filtered, in keyset pages on
``id DESC``, and the counts shown beside the list. Nothing here changes state.

Per page: one row query (with its joins), one query for the counts per status (capped), and, on
the full page, one query for the escalation inboxes with their counts and one for the filter
choices. No OFFSET and no unbounded count: what a page costs does not grow with the rows shown
or stored (beyond what a free-text search has to scan).
"""
import operator
from collections import namedtuple
from dataclasses import dataclass, field
from functools import reduce

from peewee import JOIN, SQL, Select, Value, fn
from peewee import Case as SqlCase

from ..db import database
from ..models import CASE_STATUSES, Case, Contact, Inbox, Member, Queue, User

UNASSIGNED = "none"
ANY_INBOX = "any"

AssigneeMember = Member.alias("assignee_member")
AssigneeUser = User.alias("assignee_user")
ClaimMember = Member.alias("claim_member")
ClaimUser = User.alias("claim_user")


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


Row = namedtuple("Row", "id subject status reply_status priority inbox_id contact_name queue_name "
                       "assignee_name inbox_name claimant_name claim_live")


def _row_query(org_id, flt, now):
    """One query for the rows and everything each row shows (no N+1), as ``Row`` tuples."""
    return (Case.select(Case.id, Case.subject, Case.status, Case.reply_status, Case.priority,
                        Case.inbox, Contact.name, Queue.name, AssigneeUser.name, Inbox.name,
                        ClaimUser.name, Case.claim_live_expr(now))
            .join(Queue, on=(Case.queue == Queue.id))
            .switch(Case).join(Contact, JOIN.LEFT_OUTER, on=(Case.requester == Contact.id))
            .switch(Case).join(AssigneeMember, JOIN.LEFT_OUTER,
                               on=(Case.assignee == AssigneeMember.id))
            .join(AssigneeUser, JOIN.LEFT_OUTER, on=(AssigneeMember.user == AssigneeUser.id))
            .switch(Case).join(Inbox, JOIN.LEFT_OUTER, on=(Case.inbox == Inbox.id))
            .switch(Case).join(ClaimMember, JOIN.LEFT_OUTER, on=(Case.claimed_by == ClaimMember.id))
            .join(ClaimUser, JOIN.LEFT_OUTER, on=(ClaimMember.user == ClaimUser.id))
            .where(conditions(org_id, flt))
            .tuples())


def _rows(query):
    return [Row._make(values) for values in query]


def page(org_id, flt: ThreadFilter, *, now, size, older=None, newer=None) -> Page:
    """A keyset page on ``id DESC``: the newest cases, or those older than ``older``, or the page
    just newer than ``newer``. No OFFSET, so a deep page costs what the first one does, and
    cases added meanwhile never shift a page that follows."""
    query = _row_query(org_id, flt, now)
    if newer is not None:
        rows = _rows(query.where(Case.id > newer).order_by(Case.id.asc()).limit(size + 1))
        if len(rows) > size:
            rows = rows[:size][::-1]
            return Page(rows, older=rows[-1].id, newer=rows[0].id)
        # Back at the newest cases: show a full first page rather than a short one.
        older = None
    if older is not None:
        query = query.where(Case.id < older)
    rows = _rows(query.order_by(Case.id.desc()).limit(size + 1))
    has_older = len(rows) > size
    rows = rows[:size]
    return Page(rows,
                older=rows[-1].id if has_older and rows else None,
                newer=rows[0].id if older is not None and rows else None)


def status_counts(org_id, flt: ThreadFilter, *, cap: int) -> dict:
    """Cases per status under every filter but the status one, each counted up to ``cap + 1``
    (more than ``cap`` reads "cap+"): an index range per status, so the cost stays bounded as
    the table grows instead of scanning every case of the organisation. One query."""
    where = conditions(org_id, flt, with_status=False)
    counts = []
    for status in CASE_STATUSES:
        some = (Case.select(SQL("1")).where(where & (Case.status == status))
                .limit(cap + 1).alias(f"some_{status}"))
        counts.append(Select([some], [Value(status), fn.COUNT(SQL("*"))]))
    return dict(reduce(operator.add, counts).bind(database).tuples())


@dataclass(frozen=True)
class InboxCount:
    id: int
    name: str
    total: int
    needs_response: int


def inbox_counts(org_id) -> list[InboxCount]:
    """Every live inbox with its open cases and those of them that need a response. "Open in
    the inbox" is ``Case.is_open_expr()``, the predicate the inbox pages count with."""
    # The organisation in the join lets the (organisation, inbox, id) index find each inbox's cases.
    in_inbox = (Case.organisation == org_id) & (Case.inbox == Inbox.id) & Case.is_open_expr()
    needs = SqlCase(None, [(Case.reply_status == "needs_response", 1)])
    query = (Inbox.select(Inbox.id, Inbox.name, fn.COUNT(Case.id).alias("total"),
                          fn.COUNT(needs).alias("needs_response"))
             .join(Case, JOIN.LEFT_OUTER, on=in_inbox)
             .where((Inbox.organisation == org_id) & Inbox.deleted_at.is_null())
             .group_by(Inbox.id, Inbox.name)
             .order_by(fn.LOWER(Inbox.name))
             .tuples())
    return [InboxCount(*row) for row in query]


def filter_choices(org_id):
    """The live queues and the active members (for the queue and assignee filters), in one
    query: ``(queues, members)`` as lists of ``(id, name)`` sorted by name."""
    queues = (Queue.select(Value("queue").alias("kind"), Queue.id, Queue.name)
              .where((Queue.organisation == org_id) & Queue.archived_at.is_null()))
    members = (Member.select(Value("member"), Member.id, User.name).join(User)
               .where((Member.organisation == org_id) & (Member.active == True)))  # noqa: E712
    found = {"queue": [], "member": []}
    for kind, ident, name in (queues + members).tuples():
        found[kind].append((ident, name))
    for rows in found.values():
        rows.sort(key=lambda row: row[1].casefold())
    return found["queue"], found["member"]
