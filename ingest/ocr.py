"""OCR of PDF pages: pypdfium2 rasterises each page, the Tesseract CLI reads it (no Python binding needed).

What it relies on:
- the `tesseract` binary on PATH with the English data (`tesseract-ocr` + `tesseract-ocr-eng` on Debian; `make
  tesseract` installs them). Without them `OcrUnavailableError` names the file and the pages that needed OCR:
  TrialGuard never parses a garbled or empty page in their place.
- pdfium renders the page as a viewer shows it, so what Tesseract reads is what a CRA reads on screen.
- pdfium is not thread-safe: pages are rendered one at a time in this process; only the Tesseract processes run
  side by side.

The text returned is Tesseract's, verbatim (only its trailing form feed is dropped), so quotes later cut from it
are verbatim against the OCR text, and every page read this way is marked as OCR by the reader.

What OCR cannot promise: Tesseract's English model reads "≤" as "<" and "≥" as ">" (seen on a real protocol), and
may misread digits. A threshold read from an OCR page must be checked against the page; the reader says so.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

from labs.errors import DocumentError

from ingest.text_health import page_ranges

TESSERACT = "tesseract"
LANGUAGE = "eng"
DPI = 300  # Tesseract's recommended resolution for body text
# Page segmentation "a single column of text of variable sizes": a protocol page is one column, and this mode reads
# each line whole. The default (automatic layout) cuts a hanging list number ("1.", "a)") into a block of its own,
# away from its criterion, and the list can no longer be read from its enumeration.
PAGE_SEGMENTATION = "4"
PAGE_TIMEOUT_S = 180
MAX_PIXELS = 50_000_000  # an A4/Letter page at 300 dpi is ~9 million
INSTALL_HINT = "install it with `make tesseract` (Debian packages tesseract-ocr and tesseract-ocr-eng)"


class OcrUnavailableError(DocumentError):
    """Pages need OCR but Tesseract (or its English data) is not installed; names the file and the pages."""


class OcrFailedError(DocumentError):
    """Tesseract ran and failed on a page; names the file, the page and Tesseract's own message."""


@functools.lru_cache(maxsize=1)
def tesseract_problem() -> str | None:
    """None when Tesseract with English data can run; otherwise what is missing, in words."""
    binary = shutil.which(TESSERACT)
    if binary is None:
        return "the tesseract program is not installed"
    try:
        listed = subprocess.run(
            [binary, "--list-langs"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"tesseract cannot be run ({exc})"
    languages = {line.strip() for line in (listed.stdout + listed.stderr).splitlines()}
    if LANGUAGE not in languages:
        return f"tesseract has no {LANGUAGE!r} language data"
    return None


def tesseract_version() -> str:
    """The first line of `tesseract --version` (for provenance and the benchmark), or "unavailable"."""
    if tesseract_problem() is not None:
        return "unavailable"
    out = subprocess.run([TESSERACT, "--version"], capture_output=True, text=True, timeout=30, check=False)
    return ((out.stdout or out.stderr).splitlines() or ["tesseract"])[0].strip()


def require_tesseract(path: str | Path, numbers: Iterable[int], why: str) -> None:
    """Raise OcrUnavailableError naming the file and pages when Tesseract cannot run."""
    problem = tesseract_problem()
    if problem is not None:
        raise OcrUnavailableError(
            path, f"page(s) {page_ranges(list(numbers))} need OCR ({why}), but {problem}; {INSTALL_HINT}"
        )


def _workers() -> int:
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    return max(1, min(4, available))


def ocr_pages(path: str | Path, source: str | Path | bytes, numbers: list[int], *, dpi: int = DPI) -> dict[int, str]:
    """Text of the given 1-based pages read by Tesseract; `path` names the document in errors.

    `source` is what pdfium opens: the file, or the bytes of a decrypted copy.
    """
    import pypdfium2 as pdfium

    require_tesseract(path, numbers, "no usable text layer")
    if not numbers:
        return {}
    env = dict(os.environ, OMP_THREAD_LIMIT="1")  # one core per Tesseract: the pages run side by side instead
    results: dict[int, str] = {}
    running: list[tuple[int, subprocess.Popen, Path]] = []
    workers = _workers()

    def collect(number: int, process: subprocess.Popen, image: Path) -> None:
        try:
            out, err = process.communicate(timeout=PAGE_TIMEOUT_S)
            image.unlink(missing_ok=True)  # a 300-dpi page is megabytes: keep only the pages still being read
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise OcrFailedError(path, f"OCR of page {number} took over {PAGE_TIMEOUT_S} s and was stopped") from None
        if process.returncode != 0:
            message = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
            raise OcrFailedError(path, f"OCR of page {number} failed: tesseract said {message[0]!r}")
        results[number] = out.decode("utf-8", "replace").rstrip("\f")

    try:
        document = pdfium.PdfDocument(source)
    except pdfium.PdfiumError as exc:
        raise DocumentError(path, f"cannot render the PDF for OCR ({exc})") from exc
    with tempfile.TemporaryDirectory(prefix="trialguard-ocr-") as folder:
        try:
            for number in numbers:
                image = Path(folder) / f"page-{number}.png"
                page = document[number - 1]
                width, height = page.get_size()  # in points (1/72 inch)
                # A poster-sized page at full resolution would need gigabytes: cap the pixels, not the page.
                scale = min(dpi / 72, (MAX_PIXELS / max(width * height, 1.0)) ** 0.5)
                bitmap = page.render(scale=scale, grayscale=True)
                bitmap.to_pil().save(image, dpi=(round(scale * 72),) * 2)
                page.close()
                while len(running) >= workers:
                    collect(*running.pop(0))
                command = [TESSERACT, str(image), "stdout", "-l", LANGUAGE, "--psm", PAGE_SEGMENTATION]
                process = subprocess.Popen(
                    command + ["--dpi", str(round(scale * 72))], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
                )
                running.append((number, process, image))
            while running:
                collect(*running.pop(0))
        finally:
            for _, process, _ in running:  # an error above: stop the rest rather than leave them running
                process.kill()
                process.communicate()
            document.close()
    return {number: results[number] for number in numbers}
