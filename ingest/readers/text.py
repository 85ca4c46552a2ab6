"""Plain text and Markdown: form feeds (\\f) separate pages when present, otherwise it is one page."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from labs.errors import DocumentError

from ingest.readers.models import ExtractedDocument, ExtractedPage


_MARKDOWN_ESCAPE = re.compile(r"\\([<>*_\[\]()#+.!|`~-])")


def unescape_markdown(text: str) -> str:
    """"\\> 5 years" -> "> 5 years": Markdown (and CT.gov records) escape comparators and list markers."""
    return _MARKDOWN_ESCAPE.sub(r"\1", text)


_BOMS = (  # longest first: the UTF-32 LE mark begins with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)


def _utf16_without_bom(raw: bytes) -> str | None:
    """"utf-16-le"/"utf-16-be" when every other byte of the start is NUL, as ASCII text in UTF-16 is; else None.

    Relies on a text (of any Latin-script language) being mostly ASCII, whose high byte in UTF-16 is zero.
    """
    head = raw[:4096]
    if len(head) < 4 or len(head) % 2:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) <= 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) >= 0.9 * len(even) and odd.count(0) <= 0.1 * len(odd):
        return "utf-16-be"
    return None


def _decode(path: Path, raw: bytes) -> str:
    """UTF-8 (with or without BOM); UTF-16/32 by their BOM, or UTF-16 by its NUL bytes; else Windows-1252."""
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(codec)
            except UnicodeDecodeError as exc:
                reason = f"the file starts with a {codec.upper()} byte-order mark but is not {codec}: {exc}"
                raise DocumentError(path, reason) from exc
    # Before UTF-8: ASCII in UTF-16 is valid UTF-8 too, with a NUL between every two letters.
    codec = _utf16_without_bom(raw)
    if codec is not None:
        return raw.decode(codec, errors="replace")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if b"\x00" in raw[:4096]:
        raise DocumentError(path, "binary content in a text file; expected text in UTF-8, UTF-16 or Windows-1252")
    return raw.decode("cp1252", errors="replace")


def read_text(path: Path) -> ExtractedDocument:
    text = _decode(path, path.read_bytes())
    if path.suffix.lower() in (".md", ".markdown"):
        text = unescape_markdown(text)
    pages = [ExtractedPage(number=n, text=chunk) for n, chunk in enumerate(text.split("\f"), start=1)]
    return ExtractedDocument(path=str(path), kind="text", pages=pages)
