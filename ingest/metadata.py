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


# --- The version in force: the running header, else the last entry of the cover's version history ---------------

_PAGE_NUMBER = re.compile(r"\bpage\s+\d+(?:\s+of\s+\d+)?\b", re.IGNORECASE)
_EDGE = 5  # lines at a page's top and bottom where running headers and footers stand
_HISTORY_ENTRY = re.compile(
    r"(?:^|:\s*)(?P<label>Original(?:\s+Protocol)?|Amendment\s+(?:No\.?\s*)?\d{1,2}|Version\s+\d{1,2}(?:\.\d{1,2})?)"
    r"\s*[:,–-]?\s*(?P<date>[^\n]{6,30})$",
    re.IGNORECASE,
)


def running_lines(pages: list[str]) -> list[str]:
    """Lines repeated at the top or bottom of at least a fifth of the pages (and 3), page numbers masked.

    Relies on a protocol printing its version and date in a running header or footer, the same on every page;
    "Page 2" / "Page 3 of 80" are masked so the header still recurs.
    """
    if len(pages) < 3:
        return []
    counts: dict[str, int] = {}
    for page in pages:
        lines = [line.strip() for line in page.split("\n") if line.strip()]
        for key in {_PAGE_NUMBER.sub("page #", line) for line in lines[:_EDGE] + lines[-_EDGE:]}:
            counts[key] = counts.get(key, 0) + 1
    threshold = max(3, len(pages) // 5)
    return [key for key, n in counts.items() if n >= threshold]


def _version_label(text: str) -> str | None:
    """The version a text states; an "Amendment N" keeps its word, so it is not mistaken for "Version N"."""
    for match in _VERSION.finditer(text):
        line_before = text[: match.start()].rsplit("\n", 1)[-1]
        if _CITED_STANDARD.search(line_before):
            continue
        value = match["v"].strip("()")
        return f"Amendment {value}" if match.group().lower().startswith("amendment") else value
    return None


def version_history(head: str) -> list[tuple[str, dt.date]]:
    """The cover's list of versions with dates ("Original: 22 January 2010", "Amendment 2: 28 October 2013"),
    in the order printed; entries whose date cannot be read unambiguously are left out."""
    entries: list[tuple[str, dt.date]] = []
    for line in head.split("\n"):
        match = _HISTORY_ENTRY.search(line.strip())
        if match:
            date = _to_date(match["date"])
            if date:
                entries.append((" ".join(match["label"].split()), date))
    return entries


def current_version(pages: list[str], head: str) -> tuple[str | None, dt.date | None]:
    """(version, date) of the document itself, read where it prints them for every page, else from its history.

    The running header states the version of this very document; a cover may list every earlier amendment too,
    and then the latest dated entry is the one in force. Only one date in the running lines counts (several
    would be a guess). Returns (None, None) where neither says anything.
    """
    header = "\n".join(running_lines(pages))
    version = _version_label(header)
    dates = {d for line in header.split("\n") if (d := _to_date(line))}
    date = dates.pop() if len(dates) == 1 else None
    labelled = find_effective_date(head)
    history = version_history(head)
    if len(history) >= 2:
        label, latest = max(history, key=lambda entry: entry[1])
        if version is None and not label.lower().startswith("original"):
            version = _version_label(label)
        # A labelled date that is an earlier entry of the history ("Version/Date: Original: 22 January 2010") was
        # read from the history itself: the latest entry is in force. Any other labelled date stands.
        if labelled is None or (labelled in {d for _, d in history} and labelled != latest):
            labelled = latest
    return version or find_version(head), date or labelled
