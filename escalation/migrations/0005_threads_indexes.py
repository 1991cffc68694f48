"""The threads view's counts per status when filtered by queue (issue 2).

``support_case (organisation_id, queue_id, status)`` answers "how many cases of this queue have
this status" from the index alone: the capped count per status (threads/queries.py) then reads at
most ``cap + 1`` index entries per status instead of walking a status's whole range checking the
queue of each case. Measured at 100 000 cases on SQLite: the busiest queue's counts 77 -> 4.5 ms
uncapped; a small queue's capped count stops scanning the organisation's closed cases.
"""
from playhouse.migrate import migrate as apply


def migrate(migrator, database):
    apply(migrator.add_index("support_case", ("organisation_id", "queue_id", "status"), False))
