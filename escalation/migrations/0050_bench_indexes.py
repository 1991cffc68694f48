"""Indexes found by the benchmark (bench/): escalation counts per inbox.

``support_case (inbox_id, organisation_id, status, reply_status)`` covers every "how many cases
in this inbox (and how many need a response)" question: the threads view's Escalations panel,
its filter by inbox with counts per status, and the owners' overview. Measured at 100 000 cases
(10 000 escalated over 12 inboxes): the threads view's inbox counts 11 -> 1.8 ms on SQLite, its
status counts filtered by an inbox 21 -> 0.4 ms on SQLite (without it SQLite scans the whole
organisation through ``(organisation_id, status, id)``); on PostgreSQL the grouped count becomes
an index-only scan (26 -> 1.6 ms when the query is ``... WHERE inbox_id IS NOT NULL ... GROUP BY
inbox_id``). Its cost grows with the escalated cases, not with the table.
"""
from playhouse.migrate import migrate as apply


def migrate(migrator, database):
    apply(migrator.add_index("support_case", ("inbox_id", "organisation_id", "status",
                                              "reply_status"), False))
