"""PDF pages with pypdf: the lightest route that keeps page numbers and the ≤ ≥ × µ of well-made PDFs."""

from __future__ import annotations

import logging
from pathlib import Path

from labs.errors import DocumentError

from ingest.readers.models import ExtractedDocument, ExtractedPage

# pypdf logs every odd font or broken xref as a warning; a protocol is read fine regardless.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def read_pdf(path: Path) -> ExtractedDocument:
    import pypdf
    from pypdf.errors import PdfReadError, PyPdfError

    try:
        reader = pypdf.PdfReader(path)
        if reader.is_encrypted:
            # Many PDFs are "encrypted" with an empty user password (printing restrictions only): open those.
            try:
                opened = reader.decrypt("")
            except Exception as exc:  # pypdf raises several types for unsupported or failed decryption
                raise DocumentError(path, f"the PDF is encrypted and cannot be opened ({exc})") from exc
            if not opened:
                raise DocumentError(path, "the PDF is encrypted with a password; provide a decrypted copy")
        pages = [
            ExtractedPage(number=number, text=page.extract_text() or "")
            for number, page in enumerate(reader.pages, start=1)
        ]
    except DocumentError:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise DocumentError(path, f"not a readable PDF ({type(exc).__name__}: {exc})") from exc
    if not pages:
        raise DocumentError(path, "the PDF has no pages")
    if not any(page.text.strip() for page in pages):
        raise DocumentError(
            path, f"the PDF has no text layer on any of its {len(pages)} page(s) (scanned image?); OCR it first"
        )
    return ExtractedDocument(path=str(path), kind="pdf", pages=pages)
