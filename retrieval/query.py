"""The hybrid query for an analyte: its names and synonyms plus the organ-function words protocols use for it.

The numeric value is left out on purpose: it does not help find a clause (thresholds differ from values), and
without it one query per (protocol, version, analyte) serves every row of a batch.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import labs
from labs.errors import UnknownAnalyteError
from retrieval.word_lists import load_word_lists

FUNCTION_TERMS_FILE = Path(__file__).with_name("function_terms.yaml")


@lru_cache(maxsize=1)
def function_terms() -> dict[str, list[str]]:
    return load_word_lists(FUNCTION_TERMS_FILE, "analyte code or category -> list of words")


@lru_cache(maxsize=512)
def query_text(analyte_code: str) -> str:
    try:
        analyte = labs.analyte(analyte_code)
    except UnknownAnalyteError:
        return analyte_code
    terms = function_terms()
    words = [
        analyte.code, analyte.name, *analyte.synonyms, *terms.get(analyte.code, []), *terms.get(analyte.category.value, [])
    ]
    seen: dict[str, str] = {}
    for word in words:
        seen.setdefault(word.strip().lower(), word.strip())  # repeated words would weigh double in the sparse query
    return " ".join(w for w in seen.values() if w)
