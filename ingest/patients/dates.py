"""Lab and reference-start dates as written in lab files and questions -> datetime.date, or a reason naming why not.

A date decides which protocol version was in force and whether a lab is a screening one, so a wrong date silently
moves a deviation out of scope. Accepted, and nothing else:

- ISO 8601: YYYY-MM-DD (also YYYY-M-D), optionally followed by a time (T or a space, HH:MM[:SS[.fff]]) and a zone (Z, +01:00);
- DD/MM/YYYY or MM/DD/YYYY (also with '.' or '-'), only where the numbers decide the order: a part above 12 is the
  day; equal parts read the same both ways. 10/03/2024 is refused as ambiguous: its two readings are seven months
  apart and a file or a question that says nothing about its convention gives no ground to choose.

Refused with the reason: words (today, now, yesterday: a date relative to when the file is read changes with the
day it is screened), trailing text (2024-03-02junk), partial dates (2024-03: no day to place the version by), and
years outside YEAR_RANGE (3024 is a typo, and pandas' nanosecond dates wrap such years round to the 1800s).
"""

from __future__ import annotations

import datetime as dt
import re

YEAR_RANGE = (1900, 2100)
FORMATS = "YYYY-MM-DD (optionally with a time), or DD/MM/YYYY where the day is above 12"

_ISO = re.compile(
    r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"  # 2024-3-5 too: year first is always year-month-day
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
)
_NUMERIC = re.compile(r"(?P<a>\d{1,2})(?P<sep>[/.\-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4})")
_PARTIAL = re.compile(r"\d{4}(?:-\d{2})?(?:-)?")
_RELATIVE = re.compile(r"(?i)today|now|yesterday|tomorrow|tonight|this\s+morning|last\s+\w+")


class DateError(ValueError):
    """A date that cannot be read without guessing; the message says why and what is expected."""


def month_day(first: int, second: int, written: str) -> tuple[int, int]:
    """(month, day) of a numeric date whose first two parts are `first` and `second`, decided by the numbers only.

    Relies on: a part above 12 can only be a day. Raises DateError when both orders are possible and differ."""
    if first > 12 and second > 12:
        raise DateError(f"{written!r} is not a date: neither {first} nor {second} can be a month")
    if first > 12:
        return second, first
    if second > 12 or first == second:
        return first, second
    raise DateError(
        f"{written!r} is ambiguous: day {first} of month {second}, or day {second} of month {first}; write it as "
        f"YYYY-MM-DD or with the month's name"
    )


def checked(year: int, month: int, day: int, written: str) -> dt.date:
    """A calendar date within YEAR_RANGE, or DateError naming what is wrong."""
    if not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
        raise DateError(f"{written!r}: year {year} is outside {YEAR_RANGE[0]}–{YEAR_RANGE[1]}")
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise DateError(f"unreadable date {written!r}: not a calendar date ({exc})") from None


def parse_date(text: str) -> dt.date:
    """The date `text` states (see the module docstring for what is accepted); DateError otherwise."""
    written = str(text).strip()
    if match := _ISO.fullmatch(written):
        return checked(int(match["y"]), int(match["m"]), int(match["d"]), written)
    if match := _NUMERIC.fullmatch(written):
        month, day = month_day(int(match["a"]), int(match["b"]), written)
        return checked(int(match["y"]), month, day, written)
    if _RELATIVE.fullmatch(written):
        raise DateError(f"{written!r} is not a date: write the date itself ({FORMATS})")
    if _PARTIAL.fullmatch(written):
        raise DateError(f"{written!r} is a partial date: the day is needed to place the lab in a protocol version")
    raise DateError(f"unreadable date {written!r} (expected {FORMATS})")
