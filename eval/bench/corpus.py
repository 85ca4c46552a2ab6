"""Benchmark: parse CPU seconds per 100 pages over the real corpus (goal <= 2.5 s without OCR; issue 12 item 7).

Each PDF of ../shared/data/protocols/corpus is parsed once in this process (`MAX_WORKERS = 1`, so the CPU time
of `time.process_time` is all of it, whatever else the machine is doing) with `parse_protocol`. The figure is the
median over documents of CPU seconds x 100 / pages. Only documents whose gold text layer is "ok" count towards the
median, so no page of it needs OCR; the others are listed with their own figures. Reported, never asserted: a
timing depends on the machine.
"""

from __future__ import annotations

import statistics
import time

GOAL_S_PER_100_PAGES = 2.5


def run(names: list[str] | None = None) -> dict:
    import ingest.readers.pdf as pdf_reader
    from eval.corpus_gold import load_gold
    from ingest.protocol import parse_protocol

    gold = [g for g in load_gold() if not names or g.name in names]
    per_100: dict[str, float] = {}
    other: dict[str, float] = {}
    failed: dict[str, str] = {}
    pages_total = cpu_total = 0.0
    saved, pdf_reader.MAX_WORKERS = pdf_reader.MAX_WORKERS, 1
    try:
        for item in gold:
            start = time.process_time()
            try:
                protocol = parse_protocol(item.pdf)
            except Exception as exc:  # noqa: BLE001 - a document that fails is listed, not timed
                failed[item.name] = f"{type(exc).__name__}: {str(exc)[:120]}"
                continue
            cpu = time.process_time() - start
            pages = max(1, len(protocol.pages))
            (per_100 if item.text_layer == "ok" else other)[item.name] = round(100 * cpu / pages, 3)
            pages_total += pages
            cpu_total += cpu
    finally:
        pdf_reader.MAX_WORKERS = saved
    median = statistics.median(per_100.values()) if per_100 else None
    worst = sorted(per_100.items(), key=lambda kv: kv[1], reverse=True)[:5]
    return {
        "documents": len(per_100) + len(other),
        "pages": int(pages_total),
        "cpu_s_total": round(cpu_total, 2),
        "cpu_s_per_100_pages_median": None if median is None else round(median, 3),
        "cpu_s_per_100_pages_p90": round(statistics.quantiles(per_100.values(), n=10)[-1], 3) if len(per_100) > 1
        else median,
        "slowest_per_100_pages": dict(worst),
        "not_ok_text_layer_per_100_pages": other,
        "failed": failed,
        "goal_s_per_100_pages": GOAL_S_PER_100_PAGES,
        "meets_goal": median is not None and median <= GOAL_S_PER_100_PAGES,
        "ocr_pages_per_s": "not measured: the parser has no OCR path yet",
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(sys.argv[1:] or None), indent=2))
