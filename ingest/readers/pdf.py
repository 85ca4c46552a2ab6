"""PDF pages with pypdf: the lightest route that keeps page numbers and the ≤ ≥ × µ of well-made PDFs.

Every page's text layer is health-checked (ingest.text_health); pages whose layer is garbled or absent are read by
OCR (ingest.ocr) on pypdfium2's rendering. pdfium also decrypts the AES PDFs pypdf cannot without `cryptography`.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from labs.errors import DocumentError

from ingest.readers.models import ExtractedDocument, ExtractedPage, OutlineEntry
from ingest.text_health import PageHealth, page_ranges

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


PDF_HEADER = b"%PDF-"
PDF_END = b"%%EOF"
# The header may follow a little junk and the end marker may be followed by some (the spec allows 1024 bytes);
# both are looked for within this many bytes of their end of the file.
MARKER_WINDOW = 1024


def _check_framing(path: Path) -> None:
    """A PDF starts with %PDF- and ends with %%EOF. A file without the header is not a PDF; one without the end
    marker was cut short (pypdf would read what is left and lose pages without a word)."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(MARKER_WINDOW)
        handle.seek(max(0, size - MARKER_WINDOW))
        tail = handle.read()
    if PDF_HEADER not in head:
        raise DocumentError(
            path, f"not a readable PDF: expected a file starting with {PDF_HEADER.decode()}, found {head[:16]!r}"
        )
    if PDF_END not in tail:
        raise DocumentError(
            path,
            f"not a readable PDF: the file is truncated (no {PDF_END.decode()} end marker in its last "
            f"{MARKER_WINDOW} bytes; {size} bytes read); expected a complete PDF, was the download or copy cut short?",
        )


def _is_aes(reader) -> bool:
    """Whether the encryption dictionary names an AES crypt filter (or the AES-256 revision, V 5)."""
    encrypt = reader.trailer.get("/Encrypt")
    encrypt = encrypt.get_object() if encrypt is not None else {}
    if int(encrypt.get("/V", 0)) >= 5:
        return True
    filters = encrypt.get("/CF") or {}
    return any("AES" in str(f.get_object().get("/CFM", "")) for f in filters.values())


def _decrypt_with_pdfium(path: Path) -> bytes:
    """A decrypted copy, in memory, of a PDF whose user password is empty, made by pdfium.

    pypdf decrypts AES with the `cryptography` package (locked); where its decryption still fails (an unusual
    crypt filter, a package missing from a non-locked install) pdfium decrypts every standard security handler
    itself, and saving with FPDF_REMOVE_SECURITY writes the pages unencrypted.
    """
    import io

    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        document = pdfium.PdfDocument(str(path), password="")
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise DocumentError(
                path, "encrypted: the PDF is protected by a password; provide a decrypted copy"
            ) from exc
        raise DocumentError(path, f"encrypted: the PDF cannot be decrypted ({exc})") from exc
    try:
        buffer = io.BytesIO()
        document.save(buffer, flags=pdfium_c.FPDF_REMOVE_SECURITY)
        return buffer.getvalue()
    finally:
        document.close()


def _open(path: Path):
    """(pypdf reader, what pdfium should open for rendering): the file, or the bytes of a decrypted copy."""
    import io

    import pypdf
    from pypdf.errors import DependencyError

    try:
        reader = pypdf.PdfReader(path)
    except DependencyError:  # AES-256: pypdf tries the empty password on opening, and needs `cryptography` for it
        decrypted = _decrypt_with_pdfium(path)
        return pypdf.PdfReader(io.BytesIO(decrypted)), decrypted
    if not reader.is_encrypted:
        return reader, path
    # Many PDFs are "encrypted" with an empty user password (printing restrictions only): open those.
    try:
        opened = reader.decrypt("")
    except DependencyError:
        opened = None  # AES-256 needs `cryptography` already to check the password: pdfium does it below
    except Exception as exc:  # pypdf raises several types for unsupported or failed decryption
        raise DocumentError(path, f"encrypted: the PDF cannot be opened ({exc})") from exc
    if opened is not None and not opened:
        raise DocumentError(path, "encrypted: the PDF is protected by a password; provide a decrypted copy")
    if opened is None or _is_aes(reader):
        try:
            reader.pages[0].extract_text()  # pypdf decrypts lazily: find out now whether it can
            return reader, path
        except Exception:  # DependencyError, or pypdf's decryption failing otherwise: pdfium decrypts instead
            pass
        decrypted = _decrypt_with_pdfium(path)
        return pypdf.PdfReader(io.BytesIO(decrypted)), decrypted
    return reader, path


def _page_texts(path: Path) -> tuple[Path | bytes, list[str], list[OutlineEntry]]:
    """(what pdfium should open, each page's text layer as pypdf extracts it, the bookmarks); DocumentError when
    unreadable."""
    from pypdf.errors import PdfReadError, PyPdfError

    _check_framing(path)
    try:
        reader, source = _open(path)
        if isinstance(source, bytes):
            texts = [page.extract_text() or "" for page in reader.pages]  # in memory: no worker can reopen it
        else:
            texts = _extract_all(path, reader, _workers())
        outline = read_outline(reader)
    except DocumentError:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise DocumentError(path, f"not a readable PDF ({type(exc).__name__}: {exc})") from exc
    if not texts:
        raise DocumentError(path, "the PDF has no pages")
    return source, texts, outline


def check_pdf_pages(path: str | Path) -> list[PageHealth]:
    """The health of every page's text layer (ingest.text_health), without OCR: what read_pdf would OCR."""
    source, texts, _ = _page_texts(Path(path))
    return _check_pages(Path(path), source, texts)


def read_pdf(path: Path) -> ExtractedDocument:
    """Every page's text layer, health-checked; pages whose layer is garbled or absent are read by OCR.

    See ingest.text_health for how a page is judged and ingest.ocr for the OCR; a page read by OCR carries
    source "ocr" and the reason, and `problems` says which pages were OCRed and why.
    """
    source, texts, outline = _page_texts(path)
    pages, problems = _healthy_pages(path, source, texts)
    if not any(page.text.strip() for page in pages):
        ocred = [page.number for page in pages if page.source == "ocr"]
        ocr_note = f", and OCR of page(s) {page_ranges(ocred)} found none" if ocred else ""
        raise DocumentError(
            path, f"the PDF has no text layer on any of its {len(pages)} page(s) (scanned image?){ocr_note}"
        )
    return ExtractedDocument(path=str(path), kind="pdf", pages=pages, problems=problems, outline=outline)


def _drawn_pages(source: Path | bytes, numbers: list[int]) -> dict[int, bool]:
    """For those of these pages that paint anything at all (pdfium's page objects): whether one is an image."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    if not numbers:
        return {}
    document = pdfium.PdfDocument(str(source) if isinstance(source, Path) else source)
    try:
        drawn: dict[int, bool] = {}
        for number in numbers:
            page = document[number - 1]
            kinds = {obj.type for obj in page.get_objects(max_depth=3)}
            if kinds:
                drawn[number] = pdfium_c.FPDF_PAGEOBJ_IMAGE in kinds
            page.close()
        return drawn
    finally:
        document.close()


def _check_pages(path: Path, source: Path | bytes, texts: list[str]) -> list[PageHealth]:
    from ingest.text_health import check_page, load_settings

    settings = load_settings()
    short = [
        n for n, text in enumerate(texts, start=1)
        if sum(not c.isspace() for c in text) < settings.min_chars_to_judge
    ]
    try:
        drawn = _drawn_pages(source, short)
    except Exception as exc:  # pdfium could not open what pypdf did: judge short pages as possibly drawn
        logging.getLogger(__name__).debug("pdfium cannot inspect %s: %s", path, exc)
        drawn = {number: True for number in short}
    return [
        check_page(n, text, drawn=n in drawn, has_image=drawn.get(n, False), settings=settings)
        for n, text in enumerate(texts, start=1)
    ]


def _healthy_pages(path: Path, source: Path | bytes, texts: list[str]) -> tuple[list[ExtractedPage], list[str]]:
    """Check every page's text layer; OCR those that fail (or raise OcrUnavailableError naming them)."""
    from ingest.ocr import ocr_pages, require_tesseract
    from ingest.text_health import check_page, comparator_stand_ins, load_settings

    settings = load_settings()
    health = _check_pages(path, source, texts)
    failing = [h for h in health if h.needs_ocr]
    stand_ins = [
        f"page {h.number}: a letter stands where a comparator belongs ({'; '.join(repr(s) for s in found[:3])}): "
        "a symbol font that reads ≤ or ≥ as a letter; check the comparators on this page"
        for h in health
        if not h.needs_ocr and (found := comparator_stand_ins(texts[h.number - 1], settings))
    ]
    if not failing:
        return [ExtractedPage(number=n, text=text) for n, text in enumerate(texts, start=1)], stand_ins
    why = "; ".join(
        f"{label} on page(s) {page_ranges([h.number for h in failing if h.status == status])}"
        for status, label in (("garbled", "garbled text layer"), ("no_text", "no text layer"))
        if any(h.status == status for h in failing)
    )
    require_tesseract(path, [h.number for h in failing], why)
    read = ocr_pages(path, source, [h.number for h in failing])
    pages: list[ExtractedPage] = []
    problems = [
        f"page(s) {page_ranges([h.number for h in failing])} read by OCR ({why}); OCR can read ≤ as < and ≥ as >, "
        "and misread digits: check thresholds quoted from these pages against the page"
    ] + stand_ins
    by_number = {h.number: h for h in failing}
    for number, text in enumerate(texts, start=1):
        if number not in by_number:
            pages.append(ExtractedPage(number=number, text=text))
            continue
        ocr_text = read[number]
        # Tesseract prints stray marks for rules, boxes and specks: output without a single word is no text.
        if not re.search(r"[^\W\d_]{2}", ocr_text):
            ocr_text = ""
        pages.append(ExtractedPage(number=number, text=ocr_text, source="ocr", health=by_number[number].reason))
        if ocr_text and check_page(number, ocr_text, drawn=True, settings=settings).status == "garbled":
            problems.append(f"page {number}: the OCR text does not read as words either; check the page by eye")
    return pages, problems
