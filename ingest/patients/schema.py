"""Column checks shared by the readers: missing columns fail with the names and the expected schema."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from labs.errors import DocumentError


def require_columns(path: Path, columns: list[str], required: list[list[str]], schema: str) -> None:
    """`required` lists alternatives: each inner list is satisfied when any of its names is present."""
    present = set(columns)
    missing = [" or ".join(options) for options in required if not present.intersection(options)]
    if missing:
        raise DocumentError(path, f"missing column(s): {', '.join(missing)}; expected schema: {schema}")


def read_text_table(path: Path, usecols=None) -> pd.DataFrame:
    """A CSV read as text (nothing guessed from the content), with a clear error when it is empty."""
    try:
        frame = pd.read_csv(path, dtype=object, keep_default_na=False, usecols=usecols, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise DocumentError(path, "empty file: no header and no rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DocumentError(path, f"not a readable CSV: {exc}") from None
    if frame.empty:
        raise DocumentError(path, "no data rows (only a header)")
    return frame
