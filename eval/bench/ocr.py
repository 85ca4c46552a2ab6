"""Benchmark: OCR pages per second, and what the text-layer health check costs on every page.

OCR: the first eight garbled pages of a real protocol whose font has no Unicode map (NCT00295620, every glyph
shifted), rasterised by pypdfium2 and read by Tesseract, with as many Tesseract processes side by side as the
reader uses. Health check: every page of the same 80-page document (garbled, blank and readable pages alike),
the cost every PDF pays whether or not it needs OCR.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "protocols" / "corpus"
GARBLED_PDF = CORPUS / "NCT00295620_Prot_000.pdf"
PAGES = 8


def run(runs: int = 2) -> dict:
    import pypdf

    from ingest.ocr import _workers, ocr_pages, tesseract_problem, tesseract_version
    from ingest.readers.pdf import _drawn_pages
    from ingest.text_health import check_page, load_settings

    settings = load_settings()
    texts = [page.extract_text() or "" for page in pypdf.PdfReader(GARBLED_PDF).pages]
    checks: list[float] = []
    health = []
    for _ in range(3):
        start = time.perf_counter()
        short = [n for n, t in enumerate(texts, 1) if sum(not c.isspace() for c in t) < settings.min_chars_to_judge]
        drawn = _drawn_pages(GARBLED_PDF, short)
        health = [check_page(n, t, drawn=n in drawn, has_image=drawn.get(n, False)) for n, t in enumerate(texts, 1)]
        checks.append(time.perf_counter() - start)
    garbled = [h.number for h in health if h.status == "garbled"][:PAGES]
    figures: dict = {
        "file": GARBLED_PDF.name,
        "pages": len(texts),
        "pages_garbled": sum(h.status == "garbled" for h in health),
        "pages_no_text": sum(h.status == "no_text" for h in health),
        "health_check_ms_per_page": round(1000 * statistics.median(checks) / len(texts), 3),
    }
    if tesseract_problem() is not None:
        return {**figures, "ocr": f"skipped: {tesseract_problem()}"}
    walls: list[float] = []
    chars = 0
    for _ in range(max(1, runs)):
        start = time.perf_counter()
        read = ocr_pages(GARBLED_PDF, GARBLED_PDF, garbled)
        walls.append(time.perf_counter() - start)
        chars = sum(len(text) for text in read.values())
    wall = statistics.median(walls)
    return {
        **figures,
        "tesseract": tesseract_version(),
        "ocr_workers": _workers(),
        "ocr_pages": len(garbled),
        "ocr_chars": chars,
        "ocr_runs": len(walls),
        "ocr_s_median": round(wall, 2),
        "ocr_pages_per_s": round(len(garbled) / wall, 3),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
