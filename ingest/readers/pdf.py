"""PDF pages with pypdf: the lightest route that keeps page numbers and the ≤ ≥ × µ of well-made PDFs."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from labs.errors import DocumentError

from ingest.readers.models import ExtractedDocument, ExtractedPage, OutlineEntry

# pypdf logs every odd font or broken xref as a warning; a protocol is read fine regardless.
logging.getLogger("pypdf").setLevel(logging.ERROR)


# Text extraction is pure-Python and CPU-bound (~25 ms a page); long PDFs are split across processes.
PARALLEL_FROM_PAGES = 40
MAX_WORKERS = 4


def _extract_range(path: str, first: int, last: int) -> list[str]:
    import pypdf

    reader = pypdf.PdfReader(path)
    if reader.is_encrypted:
        reader.decrypt("")
    return [reader.pages[i].extract_text() or "" for i in range(first, last)]


def _extract_all(path: Path, reader, workers: int) -> list[str]:
    count = len(reader.pages)
    # Fork only from a single-threaded process (CLI, batch, tests): forking a threaded one (a web server) can
    # deadlock the child on a lock another thread held.
    if (
        workers < 2
        or count < PARALLEL_FROM_PAGES
        or threading.active_count() > 1
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        return [page.extract_text() or "" for page in reader.pages]
    bounds = [round(count * k / workers) for k in range(workers + 1)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        chunks = pool.map(_extract_range, [str(path)] * workers, bounds[:-1], bounds[1:])
        return [text for chunk in chunks for text in chunk]


def _workers() -> int:
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, available))


def read_outline(reader) -> list[OutlineEntry]:
    """The PDF's bookmarks with their pages (pypdf `reader.outline`), in reading order.

    Relies on bookmarks whose destinations resolve to a page; one that does not (a named destination pypdf
    cannot follow, a broken reference) is left out, and an unreadable outline gives none: the outline is a
    hint to the structure, never required.
    """
    entries: list[OutlineEntry] = []

    def walk(items, level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
                title = " ".join(str(item.title).split())
            except Exception:  # pypdf raises several types for broken destinations
                continue
            if page is not None and page >= 0 and title:
                entries.append(OutlineEntry(title=title, level=level, page=page + 1))

    try:
        walk(reader.outline, 0)
    except Exception:  # a malformed outline tree: read the document without it
        return []
    return entries


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
        texts = _extract_all(path, reader, _workers())
        pages = [ExtractedPage(number=number, text=text) for number, text in enumerate(texts, start=1)]
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
    return ExtractedDocument(path=str(path), kind="pdf", pages=pages, outline=read_outline(reader))
