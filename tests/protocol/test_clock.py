"""The office's day is WIB's, whatever the machine's clock zone."""

from __future__ import annotations

import datetime as dt

import pytest


def test_office_day_is_ahead_of_utc_from_17_utc() -> None:
    from protocol.clock import office_today

    assert office_today(dt.datetime(2026, 12, 7, 16, 59, tzinfo=dt.UTC)) == dt.date(2026, 12, 7)
    assert office_today(dt.datetime(2026, 12, 7, 17, 0, tzinfo=dt.UTC)) == dt.date(2026, 12, 8)


def test_a_citizens_today_and_yesterday_are_the_offices(monkeypatch: pytest.MonkeyPatch) -> None:
    """At 01:00 WIB (18:00 UTC the day before) "lahir kemarin" is the WIB yesterday."""
    from assistant.dialogue import values
    from protocol import clock

    monkeypatch.setattr(clock, "_now", lambda: dt.datetime(2026, 12, 7, 18, 0, tzinfo=dt.UTC))
    assert values.relative_date("hari ini") == dt.date(2026, 12, 8)
    assert values.relative_date("lahir kemarin") == dt.date(2026, 12, 7)

