"""Indexes for the escalation reports (escalation/reports/): every report question is "rows of
this organisation whose time falls in the period", so each table gets an index led by the
organisation and that time. Without them a 30-day report at 100 000 cases walks the whole
organisation's escalations, claims and clocks.

- ``escalation (organisation_id, escalated_at)``: escalations in, bounces, escalations per agent;
- ``escalation (organisation_id, ended_at)``: de-escalated, moved, resolved;
- ``claim (organisation_id, expires_at)``: claims lapsed;
- ``sla_clock (organisation_id, kind, started_at)``: time to claim (tier clocks by hop start);
- ``sla_clock (organisation_id, breached_at)``: breaches by tier;
- ``escalation_packet (organisation_id, submitted_at)``: escalations per catalog item;
- ``support_case (organisation_id, created_at)``: the cases each agent handled.

Clocks by ``stopped_at`` (SLA met, first response, resolution) and "solved with this article"
links by ``created_at`` already have theirs (0040, 0044).
"""
from playhouse.migrate import migrate as apply


def migrate(migrator, database):
    apply(
        migrator.add_index("escalation", ("organisation_id", "escalated_at"), False),
        migrator.add_index("escalation", ("organisation_id", "ended_at"), False),
        migrator.add_index("claim", ("organisation_id", "expires_at"), False),
        migrator.add_index("sla_clock", ("organisation_id", "kind", "started_at"), False),
        migrator.add_index("sla_clock", ("organisation_id", "breached_at"), False),
        migrator.add_index("escalation_packet", ("organisation_id", "submitted_at"), False),
        migrator.add_index("support_case", ("organisation_id", "created_at"), False),
    )
