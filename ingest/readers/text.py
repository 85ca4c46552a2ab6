"""Plain text and Markdown: form feeds (\\f) separate pages when present, otherwise it is one page."""

from __future__ import annotations

import re
from pathlib import Path

from labs.errors import DocumentError

from ingest.readers.models import ExtractedDocument, ExtractedPage


_MARKDOWN_ESCAPE = re.compile(r"\\([<>*_\[\]()#+.!|`~-])")


def unescape_markdown(text: str) -> str:
    """"\\> 5 years" -> "> 5 years": Markdown (and CT.gov records) escape comparators and list markers."""
    return _MARKDOWN_ESCAPE.sub(r"\1", text)


def read_text(path: Path) -> ExtractedDocument:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        if b"\x00" in raw[:4096]:
            raise DocumentError(path, "binary content in a text file") from None
        text = raw.decode("cp1252", errors="replace")
    if path.suffix.lower() in (".md", ".markdown"):
        text = unescape_markdown(text)
    pages = [ExtractedPage(number=n, text=chunk) for n, chunk in enumerate(text.split("\f"), start=1)]
    return ExtractedDocument(path=str(path), kind="text", pages=pages)
