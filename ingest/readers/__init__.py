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
    if kind != "pdf":  # a PDF checks each page itself and OCRs what fails; other formats have no page to OCR
        _refuse_garbled(path, kind, document)
    return document


# The start of a document is enough to tell text from garbage, and keeps the check cheap on a long one.
_HEALTH_SAMPLE = 50_000


def _refuse_garbled(path: Path, kind: str, document: ExtractedDocument) -> None:
    """DocumentError when the text is garbage (control codes, private-use glyphs, a constant code-point shift).

    Uses the PDF page check (ingest.text_health) on the document's text as one page: a file of NUL bytes or a
    text run through a broken font converter is refused here, never parsed into criteria.
    """
    from ingest.text_health import check_page

    text = "\n".join(page.text for page in document.pages)[:_HEALTH_SAMPLE]
    health = check_page(1, text, drawn=True)
    if health.status == "garbled":
        raise DocumentError(path, f"garbled {kind} document: {health.reason}; expected readable text")
