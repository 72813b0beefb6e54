"""``since`` of ``list_runs``: a moment (ISO 8601, or a datetime) or a span of time back from now ("24h")."""

from __future__ import annotations

import datetime as dt
import re

from valiqor_trace.errors import ValidationError

_AGO = re.compile(r"(\d+(?:\.\d+)?)\s*([mhdw])")
_UNIT_S = {"m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}


def since_ns(since: str | dt.datetime, now_ns: int) -> int:
    """The first moment (ns since the epoch) a run created at or after it is listed.

    Args:
        since: ``"30m"``, ``"24h"``, ``"7d"``, ``"2w"`` before ``now_ns``; or an ISO 8601 date or time
            (``"2026-03-01"``, ``"2026-03-01T12:00:00+02:00"``), UTC when it names no zone; or a datetime.

    Raises:
        ValidationError: anything else, naming the forms accepted.
    """
    if isinstance(since, dt.datetime):
        return _epoch_ns(since)
    text = since.strip() if isinstance(since, str) else ""
    ago = _AGO.fullmatch(text.lower())
    if ago:
        return now_ns - int(float(ago.group(1)) * _UNIT_S[ago.group(2)] * 1e9)
    try:
        return _epoch_ns(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise ValidationError(f"since must be a time back from now (30m, 24h, 7d, 2w) or an ISO 8601 date or "
                              f"time (2026-03-01, 2026-03-01T12:00:00Z), got {since!r}") from None


def _epoch_ns(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return int(moment.timestamp() * 1e9)
