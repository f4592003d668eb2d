"""The office's calendar: Banyuwangi keeps WIB (UTC+7, no daylight saving).

From 00:00 to 07:00 WIB a server's UTC date is still yesterday, so "today" for a citizen, a form
or a report is this day, never ``datetime.date.today()`` on a machine that runs on UTC."""

from __future__ import annotations

import datetime as dt

WIB = dt.timezone(dt.timedelta(hours=7), "WIB")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def office_today(now: dt.datetime | None = None) -> dt.date:
    return (now or _now()).astimezone(WIB).date()
