"""Opening hours: what the answer says about days and times against a weekly schedule in JSON data.

Business and venue data often carry a weekday -> "open-close" map (``{"Monday": "11:0-21:0", ...}``).
Every number of a stated time ("11 AM to 8 PM") is usually somewhere in such a source, so the numeric
check cannot see a wrong schedule; this check reads the map. The answer contradicts it when it says the
place is open every day (or on a day) the map leaves out, or gives open/close times for days whose
listed times differ. AM/PM is not held against the answer ("10:30" in the data may be either), and
"0:0-0:0" (a common "times unknown" entry) is only a day, not a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from valiqor_trace.analyzer.fa.detectors.base import CheckResult, Detector, ItemView, finding
from valiqor_trace.analyzer.fa.detectors.structured import json_sources
from valiqor_trace.analyzer.fa.models import EvidenceItem
from valiqor_trace.analyzer.fa.text import sentences

_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_INDEX = {**{d: i for i, d in enumerate(_DAY_NAMES)}, **{d[:3]: i for i, d in enumerate(_DAY_NAMES)},
              "tues": 1, "wed": 2, "thur": 3, "thurs": 3}
_DAY = r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues?|wed|thurs?|fri|sat|sun)s?\b\.?"
_DAY_RE = re.compile(rf"\b{_DAY}", re.IGNORECASE)
_DAY_RANGE_RE = re.compile(rf"\b{_DAY}\s*(?:to|through|thru|till|until|-|–)\s*{_DAY}", re.IGNORECASE)
_EVERY_DAY_RE = re.compile(r"\b(?:every ?day|daily|seven days|7 days|all week(?: long)?|each day)\b", re.IGNORECASE)
_OPEN_RE = re.compile(r"\b(?:open|opens|opening|hours|operat\w*|closes?)\b", re.IGNORECASE)
_UNTIL_RE = re.compile(r"(?:,|\band\b)[^,;]*?\b(?:until|till|til)\b", re.IGNORECASE)  # "..., and until 8 PM on..."
_CLOSED_RE = re.compile(r"\bclosed?\b|\bexcept\b", re.IGNORECASE)
_TIME = r"(?:(\d{1,2})(?::(\d{1,2}))?\s*([ap])?\.?m?\b\.?|(noon|midday|midnight))"
_TIME_RANGE_RE = re.compile(rf"{_TIME}\s*(?:to|until|till|til|-|–)\s*{_TIME}", re.IGNORECASE)
_SOURCE_RANGE_RE = re.compile(r"^\s*(\d{1,2}):(\d{1,2})\s*-\s*(\d{1,2}):(\d{1,2})\s*$")
_HALF_DAY = 12 * 60
MIN_SCHEDULE_DAYS = 3  # fewer weekday keys: not a weekly schedule

Schedule = dict[int, tuple[int, int] | None]  # weekday -> (open, close) in minutes; None: times unknown


def schedules(data: Any) -> Iterator[Schedule]:
    """Every weekday -> time-range map inside ``data``."""
    if isinstance(data, list):
        for item in data[:50]:
            yield from schedules(item)
    if not isinstance(data, dict):
        return
    found: Schedule = {}
    for key, value in data.items():
        day = _DAY_INDEX.get(str(key).strip().lower())
        hours = _SOURCE_RANGE_RE.match(value) if day is not None and isinstance(value, str) else None
        if hours:
            o_h, o_m, c_h, c_m = map(int, hours.groups())
            found[day] = None if o_h == o_m == c_h == c_m == 0 else (o_h * 60 + o_m, c_h * 60 + c_m)  # type: ignore[index]
        elif isinstance(value, (dict, list)):
            yield from schedules(value)
    if len(found) >= MIN_SCHEDULE_DAYS:
        yield found


def _minutes(hour: str | None, minute: str | None, half: str | None, word: str | None) -> int | None:
    if word:
        return 0 if word.lower() == "midnight" else _HALF_DAY
    value = int(hour or 0)
    if value > 24 or int(minute or 0) >= 60:
        return None
    if half:
        value = value % 12 + (12 if half.lower() == "p" else 0)
    return (value * 60 + int(minute or 0)) % (2 * _HALF_DAY)


def _same_time(stated: int, listed: int) -> bool:
    return stated % _HALF_DAY == listed % _HALF_DAY


def _days(sentence: str) -> set[int] | None:
    """The weekdays a sentence speaks of (None: it names none)."""
    if _EVERY_DAY_RE.search(sentence):
        return set(range(7))
    days: set[int] = set()
    ranges = list(_DAY_RANGE_RE.finditer(sentence))
    for m in ranges:
        first, last = _DAY_INDEX[m.group(1).lower()], _DAY_INDEX[m.group(2).lower()]
        days.update((first + i) % 7 for i in range((last - first) % 7 + 1))
    for m in _DAY_RE.finditer(sentence):
        if not any(r.start() <= m.start() < r.end() for r in ranges):
            days.add(_DAY_INDEX[m.group(1).lower()])
    return days or None


def _about_hours(sentence: str) -> bool:
    """Opening words: a time range alone may be a happy hour or a delivery window."""
    return bool(_OPEN_RE.search(sentence))


def _clauses(sentence: str) -> list[str]:
    """The sentence, or its clauses when it gives several time ranges ("Monday to Friday 9 to 5, Saturday 10
    to 2", "9 to 5 on weekdays, and until 8 on Saturday": each time goes with its own days)."""
    if len(_TIME_RANGE_RE.findall(sentence)) + len(_UNTIL_RE.findall(sentence)) < 2:
        return [sentence]
    return [c for c in re.split(r"[;,]|\band\b", sentence) if c.strip()]


def _conflict(sentence: str, schedule: Schedule) -> str | None:
    """Why the sentence (a clause) contradicts the schedule, or None."""
    days = _days(sentence)
    times = _TIME_RANGE_RE.search(sentence)
    if days is not None and not _CLOSED_RE.search(sentence):
        missing = sorted(days - schedule.keys())
        if missing:
            return f"no hours listed for {', '.join(_DAY_NAMES[d].title() for d in missing)}"
    if times is None:
        return None
    stated = (_minutes(*times.groups()[:4]), _minutes(*times.groups()[4:]))
    if None in stated or not any(times.group(i) for i in (2, 3, 4, 6, 7, 8)):
        return None  # "2 to 3" alone may be anything
    listed = {d: schedule[d] for d in (days if days is not None else schedule) if schedule.get(d) is not None}
    differing = [d for d, hours in listed.items() if hours is not None
                 and not (_same_time(stated[0], hours[0]) and _same_time(stated[1], hours[1]))]  # type: ignore[arg-type]
    if listed and (differing if days is not None else len(differing) == len(listed)):
        day = differing[0]
        o, c = schedule[day]  # type: ignore[misc]
        return f"the data lists {_DAY_NAMES[day].title()} as {o // 60}:{o % 60:02d}-{c // 60}:{c % 60:02d}"
    return None


def check_schedule(view: ItemView) -> CheckResult:
    sources = [(s, evidence) for data, evidence in json_sources(view) for s in schedules(data)]
    if not sources or not view.output.strip():
        return None
    items: list[EvidenceItem] = []
    for start, end, sentence in sentences(view.output):
        for schedule, evidence in sources:
            if not _about_hours(sentence):
                break
            why = next(filter(None, (_conflict(c, schedule) for c in _clauses(sentence))), None)
            if why:
                items += [view.in_output(start, end, note=why), evidence(f"weekly hours: {why}")]
                break
    if not items:
        return []
    return [finding("contradicts_source", "fail", 0.75,
                    "The answer's opening days or hours differ from the weekly hours in the data.", items[:8],
                    "schedule_grounding")]


DETECTORS = (Detector("schedule_grounding", ("contradicts_source",), check_schedule, pass_confidence=0.7),)
