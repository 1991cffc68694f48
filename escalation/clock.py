"""Time in one place: everything is stored in UTC (naive datetimes that mean UTC)."""
from datetime import datetime, timezone


def utcnow() -> datetime:
    """The current instant in UTC, as a naive datetime (how the database stores it)."""
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
