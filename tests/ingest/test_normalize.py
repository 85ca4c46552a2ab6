"""Normalization repairs extraction damage without ever moving text: citations quote its output."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.normalize import normalize_text, strip_running_lines
from ingest.protocol import protocol_from_document
from ingest.readers.models import ExtractedDocument, ExtractedPage


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Platelet count < 100 x 109/L", "Platelet count < 100 x 10^9/L"),  # superscript flattened
        ("Absolute neutrophil count <1.5 x 10 9/L.", "Absolute neutrophil count <1.5 x 10^9/L."),
        ("platelet count ≥ 75×109/L", "platelet count ≥ 75×10^9/L"),
        ("ANC ≥ 1.0 × 10 9 /L", "ANC ≥ 1.0 × 10^9/L"),
        ("WBC 4.0 x 10⁹/L", "WBC 4.0 x 10^9/L"),
        ("count ≥ 100,000/mm3 or 109 patients", "count ≥ 100,000/mm3 or 109 patients"),  # no "x 10": untouched
        ("\ufb01rst dose e\ufb00ective", "first dose effective"),  # ligatures
        ("ALT\u00a0>\u00a03\u2009×\u2009ULN", "ALT > 3 × ULN"),  # no-break and thin spaces
        ("\uf0b7 Haemoglobin <90 g/L", "• Haemoglobin <90 g/L"),  # Symbol-font bullet
        ("x Absolute neutrophil count", "• Absolute neutrophil count"),  # Wingdings bullet read as "x"
        ("ALT > 3\nx ULN", "ALT > 3\nx ULN"),  # a wrapped multiplication is no bullet
        ("total bilirubin > 1.5\nx Upper limit", "total bilirubin > 1.5\nx Upper limit"),
        ("short term use (\uf0a3 14 days)", "short term use (≤ 14 days)"),  # Symbol-font ≤
        ("measured at baseline as \x9510 mm", "measured at baseline as ≥10 mm"),  # subset font ≥
        ("resolve to \x94CTCAE grade 1", "resolve to ≤CTCAE grade 1"),  # subset font ≤
        ("[\n10] Had chronic pancreatitis", "[10] Had chronic pancreatitis"),  # orphaned bracket
        ("the following criteria\n:\nMedical", "the following criteria:\nMedical"),  # orphaned colon
        ("prior platinum-\ntherapy related", "prior platinum-therapy related"),  # line-end hyphen joined
        ("hyper\u00adbilirubinaemia", "hyperbilirubinaemia"),  # soft hyphen
        ("a  b   c   \n\n\n\nd", "a b c\n\nd"),
    ],
)
def test_normalize_repairs(raw, expected):
    assert normalize_text(raw) == expected


def test_running_headers_and_page_numbers_are_stripped_from_page_edges_only():
    bodies = ["Alpha text.", "Beta text.\nClinical Study Protocol as a phrase\nmore beta", "Gamma.", "Delta.", "Eps."]
    pages = [
        f"Clinical Study Protocol\nEdition 6.0\n{n} (120)\n{body}\nPage {n} of 5" for n, body in enumerate(bodies, 1)
    ]
    stripped = strip_running_lines(pages)
    assert stripped[0] == "Alpha text."
    assert stripped[1] == "Beta text.\nClinical Study Protocol as a phrase\nmore beta"  # mid-page line stays
    # a header's words inside the body stay; only edge runs go
    assert strip_running_lines(["Body\nCCI\nmore", "x", "y"])[0] == "Body\nmore"  # redaction marks removed


_LINE_PIECES = st.sampled_from(
    [
        "1. ", "2. ", "10. ", "[3] ", "[3a] ", "a) ", "(ii) ", "i. ", "• ", "- ", "* ", "o ", "E7 ",
        "Inclusion Criteria", "Exclusion criteria:", "3.1 Inclusion criteria", "6.2. Exclusion Criteria ....... 28",
        "• Inclusion Criteria: text", "Note: ", "*ULN", "Table 3", "Medical Conditions", "x 10 9/L", "\x95",
        "\uf0b7", "[", "]", ":", "\u00ad", "-\n", "\n", "\n\n", "  ", "ALT > 2.5 x ULN", "ANC ≥ 1.5 x 109/L",
        "Edition 6.0", "NCT01234567", "Date 09 August 2023",
    ]
)
_TEXT = st.lists(st.one_of(_LINE_PIECES, st.text(max_size=12)), max_size=60).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages=st.lists(_TEXT, min_size=1, max_size=4))
def test_structure_never_crashes_and_spans_stay_verbatim(pages):
    document = ExtractedDocument(
        path="fuzz.txt", kind="text", pages=[ExtractedPage(number=n, text=t) for n, t in enumerate(pages, 1)]
    )
    protocol = protocol_from_document(document)
    text = protocol.text
    ids = [c.id for c in protocol.criteria]
    assert len(ids) == len(set(ids))
    for criterion in protocol.criteria:
        assert text[criterion.char_start : criterion.char_end] == criterion.text
        assert criterion.page_start <= criterion.page_end


@settings(max_examples=300, deadline=None)
@given(raw=st.text(max_size=300))
def test_normalize_is_total_and_idempotent(raw):
    once = normalize_text(raw)
    assert normalize_text(once) == once
