"""Plain text and Markdown: form feeds (\\f) separate pages when present, otherwise it is one page."""

from __future__ import annotations

from pathlib import Path

from labs.errors import DocumentError

from ingest.readers.models import ExtractedDocument, ExtractedPage


def read_text(path: Path) -> ExtractedDocument:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        if b"\x00" in raw[:4096]:
            raise DocumentError(path, "binary content in a text file") from None
        text = raw.decode("cp1252", errors="replace")
    pages = [ExtractedPage(number=n, text=chunk) for n, chunk in enumerate(text.split("\f"), start=1)]
    return ExtractedDocument(path=str(path), kind="text", pages=pages)
