"""A plain CSV read record by record, so that one malformed line is a row error and never rejects the whole file.

pandas' reader stops at the first line with an extra field ("Expected 7 fields in line 14, saw 8"), silently pads a
line that lacks trailing fields with empty text, and lets an unclosed quote swallow every following line into one
field. Here each record is checked against the header:

- more fields than the header (other than empty trailing ones, as spreadsheets write): row error;
- fewer fields: row error naming the missing columns (never read as "empty", which would move the row to "out of
  scope" or judge it without its date);
- a quoted field that runs over a line break: row error for the line that opened it, and the lines it swallowed
  are read again one by one. Relies on: lab exports do not put line breaks inside a field (a test name, unit or date
  never has one), so a field spanning lines is an unclosed quote.

Rows are numbered by their line in the file minus the header line (blank lines count, so the number matches the
spreadsheet's data row even when the file has gaps).
"""

from __future__ import annotations

import csv
import re
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labs.errors import DocumentError
from ingest.patients.models import RowError


@dataclass
class CsvRecords:
    frame: pd.DataFrame  # the well-formed records, text only, index = data row - 1
    rows: np.ndarray  # data row number of each record (1-based)
    errors: list[RowError] = field(default_factory=list)

    @property
    def rows_in(self) -> int:
        return len(self.frame) + len(self.errors)


def _records(lines: list[str], first_line: int, header_line: int, header: list[str], file: str,
             out: list[tuple[int, list[str]]], errors: list[RowError]) -> None:
    """Parse `lines` (physical line `first_line` onwards, 1-based) into `out` (line number, fields) or `errors`."""
    width = len(header)
    reader = csv.reader(lines)
    consumed = 0
    for record in reader:
        previous = consumed
        start, consumed = first_line + consumed, reader.line_num
        row = start - header_line
        if not record:
            continue  # a blank line: not a row
        # A quoted cell may hold a line break (valid CSV: the record closes with the header's width); a record that
        # spans physical lines with any other width is a quote left open.
        if consumed - previous > 1 and len(record) != width:
            errors.append(RowError(file=file, row=row, field="row", value=lines[start - first_line].rstrip("\r\n")[:200],
                                   reason="unclosed quote: a quoted field runs past the end of the line (row not read; "
                                          "the following lines are read on their own)"))
            _records(lines[start - first_line + 1 : consumed], start + 1, header_line, header, file, out, errors)
            continue
        if len(record) > width and not any(f.strip() for f in record[width:]):
            record = record[:width]  # trailing empty cells, as spreadsheets save them
        if len(record) != width:
            if len(record) > width:
                reason = f"{len(record)} fields where the header has {width}: an extra field (row not read)"
            else:
                missing = ", ".join(header[len(record):])
                reason = f"{len(record)} fields where the header has {width}: missing {missing} (row not read)"
            errors.append(RowError(file=file, row=row, field="row", reason=reason,
                                   value=",".join(record)[:200]))
            continue
        out.append((row, record))


def _well_formed_rows(body: list[str], width: int) -> np.ndarray | None:
    """Data row numbers of the non-blank lines when the file is plainly well formed, else None.

    Plainly well formed: no quote character at all, and as many commas as width - 1 per non-blank line in total.
    With no quotes pandas' C reader refuses a line with an extra field (then the record-by-record reader takes
    over), so the total can only match when no line has too few either. Counted with numpy on the bytes."""
    raw = "".join(body).encode("utf-8")
    if not raw:
        return np.array([], dtype=np.int64)
    if b'"' in raw:
        return None
    data = np.frombuffer(raw, dtype=np.uint8)
    ends = np.flatnonzero(data == ord("\n"))
    if not len(ends) or ends[-1] != len(data) - 1:
        ends = np.append(ends, len(data))  # last line without a newline
    starts = np.concatenate([[0], ends[:-1] + 1])
    carriage = (ends > starts) & (data[np.maximum(ends - 1, 0)] == ord("\r"))
    blank = ends - starts - carriage <= 0
    if np.count_nonzero(data == ord(",")) != (width - 1) * int(np.count_nonzero(~blank)):
        return None
    return np.flatnonzero(~blank).astype(np.int64) + 1


def read_csv_records(path: Path) -> CsvRecords:
    """The records of a plain CSV (see the module docstring); DocumentError when there is no header or no row."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(path, f"not a readable CSV: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    # Records end at \n (or \r\n) only: str.splitlines also breaks at \x1c-\x1e, \x85, \u2028..., which may
    # stand inside a cell and would split one row into two.
    lines = [line for line in re.split(r"(?<=\n)", text) if line]
    start = next((i for i, line in enumerate(lines) if line.strip()), None)
    if start is None:
        raise DocumentError(path, "empty file: no header and no rows")
    header = next(csv.reader([lines[start]]))
    body = lines[start + 1 :]
    fast = _well_formed_rows(body, len(header))
    if fast is not None and not len(fast):
        raise DocumentError(path, "no data rows (only a header)")
    if fast is not None:
        # every line one record as wide as the header: pandas' C reader, no per-record Python work
        rows, errors = fast, []
        try:
            frame = pd.read_csv(io.StringIO("".join(body)), header=None, names=header, dtype=object,
                                keep_default_na=False, skip_blank_lines=True)
        except pd.errors.ParserError:  # a line with an extra field: the careful reader names it
            fast = None
        else:
            if len(frame) != len(rows):  # pandas saw the lines otherwise: let the careful reader decide
                fast = None
        good_fields = None
    if fast is None:
        good: list[tuple[int, list[str]]] = []
        errors = []
        _records(body, start + 2, start + 1, header, path.name, good, errors)
        rows = np.array([r for r, _ in good], dtype=np.int64)
        good_fields = [fields for _, fields in good]
    if not len(rows) and not errors:
        raise DocumentError(path, "no data rows (only a header)")
    if good_fields is not None:
        columns = list(zip(*good_fields)) if good_fields else [()] * len(header)
        frame = pd.DataFrame({i: np.array(c, dtype=object) for i, c in enumerate(columns)})
        frame.columns = header
    frame.index = rows - 1
    errors.sort(key=lambda e: e.row)
    return CsvRecords(frame=frame, rows=rows, errors=errors)
