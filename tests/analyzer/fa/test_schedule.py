"""Opening days and hours in the answer against a weekly schedule in JSON data."""

from __future__ import annotations

import json

from fa_helpers import make_item, only, view_of
from valiqor_trace.analyzer.fa.detectors import schedule

HOURS = {"Tuesday": "9:0-17:0", "Wednesday": "9:0-17:0", "Thursday": "9:0-17:0", "Friday": "9:0-21:30",
         "Saturday": "10:0-15:0"}
SHOP = [json.dumps({"name": "Pine Street Bakery", "hours": HOURS, "review_info": [{"review_text": "Open late!"}]})]


def _check(answer: str) -> list:
    return schedule.check_schedule(view_of(make_item("Describe the bakery.", answer, SHOP))) or []


def test_open_every_day_when_the_data_lists_fewer_days_is_a_contradiction() -> None:
    found = only(_check("The bakery is open seven days a week, from 9 am to 5 pm."), "contradicts_source")
    assert found[0].decision == "fail" and "Sunday" in found[0].evidence[0].note


def test_hours_that_differ_from_the_listed_days_are_a_contradiction() -> None:
    found = only(_check("It is open from 8:00 AM to 5:00 PM Tuesday through Thursday."), "contradicts_source")
    assert "Tuesday as 9:00-17:00" in found[0].evidence[0].note


def test_hours_that_match_or_leave_out_am_pm_pass() -> None:
    assert _check("It opens Tuesday to Thursday from 9:00 to 5:00, and Friday from 9 am to 9:30 pm.") == []
    assert _check("On Saturday it is open from 10 AM to 3 PM; it is closed on Sunday and Monday.") == []


def test_a_time_range_that_is_not_about_opening_is_left_alone() -> None:
    assert _check("Happy hour runs from 3 pm to 6 pm every day.") == []


def test_no_weekly_schedule_means_the_check_does_not_apply() -> None:
    item = make_item("Describe the bakery.", "It is open every day.", [json.dumps({"name": "Pine Street Bakery"})])
    assert schedule.check_schedule(view_of(item)) is None
