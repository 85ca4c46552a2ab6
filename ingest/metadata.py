"""Protocol id, version, effective date and title as the document states them."""

from __future__ import annotations

import datetime as dt
import re

_NCT = re.compile(r"(?<![A-Za-z0-9])NCT\d{8}(?!\d)")
_VERSION = re.compile(
    r"\b(?:Edition(?:\s+Number)?|Version(?:\s+Number)?|Amendment(?:\s+Version)?|Revision)\s*(?:No\.?|#)?\s*[:.]?\s*"
    r"(?P<v>\d{1,3}(?:\.\d{1,3}){0,2}|\([a-zA-Z0-9]{1,3}\))(?![\d/-])"
)
_DATE_LINE = re.compile(
    r"\b(?:Approval\s+Date|Effective\s+Date|Date|Last\s+updated|Version\s+[\w.]+\s*[,:])\s*[:.]?\s*"
    r"(?P<d>[^\n]{6,30})",
    re.IGNORECASE,
)
# 26/10/2023 or 9.19.2022: the order is read from whichever field cannot be a month; otherwise it is ambiguous.
_NUMERIC = re.compile(r"\b(?P<a>\d{1,2})[./](?P<b>\d{1,2})[./](?P<y>\d{4})\b")
_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
_DMY = re.compile(r"(?P<d>\d{1,2})(?:st|nd|rd|th)?[\s-]+(?P<m>[A-Za-z]{3,9})\.?[\s,-]+(?P<y>\d{4})")
_MDY = re.compile(r"(?P<m>[A-Za-z]{3,9})\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})")
_ISO = re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})")


def find_protocol_id(file_name: str, text: str) -> str:
    """The NCT number in the file name, else the first in the text, else the file's stem."""
    for source in (file_name, text):
        match = _NCT.search(source)
        if match:
            return match.group()
    stem = file_name.rsplit(".", 1)[0]
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem) or "protocol"


# Standards a protocol cites with their own versions ("RECIST Version 1.1", "CTCAE Version 5.0"): never its version.
_CITED_STANDARD = re.compile(
    r"\b(?:i?RECIST|(?:NCI[\s-]+)?CTCAE|MedDRA|WHO[\s-]*(?:Drug|DD)|ICH[\s-]*E\d+(?:\(R\d\))?|SAS|EQ-5D(?:-\dL)?|"
    r"Declaration\s+of\s+Helsinki|iwCLL|Lugano|RANO)[\s,(]*$",
    re.IGNORECASE,
)


def find_version(head: str) -> str | None:
    for match in _VERSION.finditer(head):
        line_before = head[:match.start()].rsplit("\n", 1)[-1]
        if not _CITED_STANDARD.search(line_before):
            return match["v"].strip("()")
    return None


def _numeric_date(text: str) -> dt.date | None:
    match = _NUMERIC.search(text)
    if not match:
        return None
    a, b, year = int(match["a"]), int(match["b"]), int(match["y"])
    if a > 12 >= b:
        day, month = a, b
    elif b > 12 >= a:
        day, month = b, a
    else:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _to_date(text: str) -> dt.date | None:
    numeric = _numeric_date(text)
    if numeric:
        return numeric
    for pattern in (_ISO, _DMY, _MDY):
        match = pattern.search(text)
        if not match:
            continue
        try:
            month_text = match["m"]
            month = int(month_text) if month_text.isdigit() else _MONTHS.get(month_text[:3].lower())
            if month is None:
                continue
            return dt.date(int(match["y"]), month, int(match["d"]))
        except ValueError:
            continue
    return None


def find_effective_date(head: str) -> dt.date | None:
    for match in _DATE_LINE.finditer(head):
        date = _to_date(match["d"])
        if date:
            return date
    return None


_TITLE_WORDS = re.compile(r"\b(?:phase|study|trial|randomi[sz]ed)\b", re.IGNORECASE)


_TITLE_PREFIX = re.compile(r"^(?:•\s*)?(?:Document|Study|Protocol|Official)\s+title\s*:\s*", re.IGNORECASE)


def _title_case(line: str) -> bool:
    words = [w for w in line.split() if len(w) >= 4 and w[0].isalpha()]
    return bool(words) and sum(w[0].isupper() for w in words) >= 0.6 * len(words)


def find_title(head: str) -> str | None:
    """The study's title: a line labelled "Title:", else the first long Title Case line that names a phase,
    study or trial (with its continuation lines), else the first substantial line."""
    raw = [line.strip() for line in head.split("\n")]
    for line in raw:
        labelled = _TITLE_PREFIX.match(line)
        if labelled and len(line) - labelled.end() >= 20:
            return line[labelled.end() :][:300]
    for k, line in enumerate(raw):
        if (
            len(line) >= 40 and _TITLE_WORDS.search(line) and _title_case(line)
            and not line.endswith(":") and "...." not in line and line.count("|") < 2
        ):
            parts = [line]
            for nxt in raw[k + 1 : k + 4]:
                if not nxt or len(nxt) < 15 or ":" in nxt or _NCT.fullmatch(nxt) or not _title_case(nxt):
                    break
                parts.append(nxt)
            return " ".join(parts)[:300]
    for line in raw:
        if len(line) >= 20 and not _NCT.fullmatch(line):
            return line[:300]
    return None
