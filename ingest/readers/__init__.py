"""Document readers: one file in, its pages of raw text out (numbered as in the original). Pure parsing.

`read_document(path)` picks the reader by file type; every failure is a DocumentError naming the file and why.
Normalization and structure happen later (ingest.normalize, ingest.sections), the same for every format.
"""

from __future__ import annotations

from pathlib import Path

from labs.errors import DocumentError

from ingest.readers.models import ExtractedDocument, ExtractedPage

SUFFIXES = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
    ".md": "text",
    ".markdown": "text",
    ".text": "text",
    ".json": "ctgov",
}

__all__ = ["ExtractedDocument", "ExtractedPage", "SUFFIXES", "read_document"]


def read_document(path: str | Path) -> ExtractedDocument:
    path = Path(path)
    if not path.exists():
        raise DocumentError(path, "file not found")
    if not path.is_file():
        raise DocumentError(path, "not a file")
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DocumentError(
            path, f"unsupported file type {path.suffix or '(none)'!r}; expected one of {', '.join(sorted(SUFFIXES))}"
        )
    if path.stat().st_size == 0:
        raise DocumentError(path, "the file is empty")
    if kind == "pdf":
        from ingest.readers.pdf import read_pdf

        document = read_pdf(path)
    elif kind in ("docx", "html"):
        from ingest.readers.docx_html import read_docx_or_html

        document = read_docx_or_html(path, kind)
    elif kind == "ctgov":
        from ingest.readers.ctgov import read_ctgov_json

        document = read_ctgov_json(path)
    else:
        from ingest.readers.text import read_text

        document = read_text(path)
    if not any(page.text.strip() for page in document.pages):
        raise DocumentError(path, f"no text found in the {kind} document")
    return document
