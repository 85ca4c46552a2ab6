"""Readers for every format, and the failures a user can cause: each a DocumentError naming file and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.models import CriterionKind
from ingest.protocol import parse_protocol
from labs.errors import DocumentError

CTGOV = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "protocols" / "astrazeneca_osimertinib"

SAMPLE = """Protocol TG-TXT-001 Version 2.1
Effective Date: 12 March 2024

5 STUDY POPULATION
5.1 Inclusion Criteria
Patients must meet all of the following criteria:
1. Age ≥ 18 years.
2. Adequate organ function:
a) Absolute neutrophil count ≥ 1.5 x 109/L
b) Platelets ≥ 100 × 10 9/L
3. Signed informed consent.
5.2 Exclusion Criteria
1. ALT > 2.5 × ULN (> 5 × ULN if liver metastases).
2. Pregnant or breastfeeding.
5.3 Lifestyle
Nothing here.
"""


def _pdf_with_text(path: Path, lines: list[str]) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for line in lines:
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def test_text_file_is_parsed_with_labels_sub_items_and_metadata(tmp_path):
    path = tmp_path / "tg_txt_001.txt"
    path.write_text(SAMPLE, encoding="utf-8")
    protocol = parse_protocol(path)
    assert protocol.protocol_id == "tg_txt_001" and protocol.version == "2.1"
    assert str(protocol.effective_date) == "2024-03-12"
    labels = [(c.kind, c.label, c.parent_label) for c in protocol.criteria]
    assert labels == [
        (CriterionKind.INCLUSION, "1", None),
        (CriterionKind.INCLUSION, "2", None),
        (CriterionKind.INCLUSION, "2(a)", "2"),
        (CriterionKind.INCLUSION, "2(b)", "2"),
        (CriterionKind.INCLUSION, "3", None),
        (CriterionKind.EXCLUSION, "1", None),
        (CriterionKind.EXCLUSION, "2", None),
    ]
    two_a = protocol.criteria[2]
    assert two_a.text == "a) Absolute neutrophil count ≥ 1.5 x 10^9/L"
    assert protocol.criteria[3].text == "b) Platelets ≥ 100 × 10^9/L"
    assert protocol.criteria[0].id == "tg_txt_001:2.1:inclusion:1"
    assert protocol.criteria[0].section_number == "5.1"
    assert protocol.criteria[0].section_title == "Inclusion Criteria"


def test_overrides_win_over_what_the_document_says(tmp_path):
    path = tmp_path / "NCT01234567_protocol.md"
    path.write_text(SAMPLE, encoding="utf-8")
    protocol = parse_protocol(path, protocol_id="MY-ID", version="9")
    assert (protocol.protocol_id, protocol.version) == ("MY-ID", "9")
    assert parse_protocol(path).protocol_id == "NCT01234567"


def test_form_feeds_split_text_into_pages_and_criteria_join_across_them(tmp_path):
    path = tmp_path / "paged.txt"
    body = SAMPLE.replace("b) Platelets", "b) Platelets\f").replace("\f ≥", "\f≥")
    path.write_text(body, encoding="utf-8")
    protocol = parse_protocol(path)
    platelets = next(c for c in protocol.criteria if c.label == "2(b)")
    assert (platelets.page_start, platelets.page_end) == (1, 2)
    assert protocol.text[platelets.char_start : platelets.char_end] == platelets.text


def test_pdf_made_here_is_read_page_by_page(tmp_path):
    ascii_lines = SAMPLE.replace("≥", ">=").replace("×", "x").splitlines()  # the core PDF font is Latin-1
    protocol = parse_protocol(_pdf_with_text(tmp_path / "made.pdf", ascii_lines))
    assert [c.label for c in protocol.criteria if c.kind == CriterionKind.EXCLUSION] == ["1", "2"]
    assert protocol.version == "2.1" and protocol.pages[0].number == 1
    platelets = next(c for c in protocol.criteria if c.label == "2(b)")
    assert platelets.text == "b) Platelets >= 100 x 10^9/L"


def test_ctgov_record_reads_eligibility_criteria(tmp_path):
    source = CTGOV / "NCT02511106_ctgov_study.json"
    protocol = parse_protocol(source)
    assert protocol.protocol_id == "NCT02511106"
    assert protocol.version.startswith("ctgov-")
    inclusion = [c for c in protocol.criteria if c.kind == CriterionKind.INCLUSION and c.parent_label is None]
    exclusion = [c for c in protocol.criteria if c.kind == CriterionKind.EXCLUSION and c.parent_label is None]
    # Hand count of the record's eligibilityCriteria: inclusion 1-9, exclusion 1-9.
    assert [c.label for c in inclusion] == [str(n) for n in range(1, 10)]
    assert [c.label for c in exclusion] == [str(n) for n in range(1, 10)]
    assert "for > 5 years" in exclusion[2].text  # CT.gov's Markdown escape "\\>" removed
    sub = [c for c in protocol.criteria if c.parent_label == "1" and c.kind == CriterionKind.EXCLUSION]
    assert sub and sub[0].text.startswith("* Pre-operative or post-operative")


@pytest.mark.slow
def test_docx_and_html_through_unstructured(tmp_path):
    import docx

    document = docx.Document()
    document.add_heading("Protocol NCT07654321 Version 3.0", 0)
    document.add_heading("4.1 Inclusion Criteria", 2)
    document.add_paragraph("1. Age ≥ 18 years.")
    document.add_paragraph("2. Haemoglobin ≥ 9 g/dL.")
    document.add_heading("4.2 Exclusion Criteria", 2)
    document.add_paragraph("1. ALT > 3 × ULN.")
    document.add_heading("4.3 Withdrawal of subjects", 2)
    document.add_paragraph("Subjects may withdraw at any time.")
    docx_path = tmp_path / "protocol.docx"
    document.save(str(docx_path))
    protocol = parse_protocol(docx_path)
    assert (protocol.protocol_id, protocol.version) == ("NCT07654321", "3.0")
    assert [(c.kind.value, c.label) for c in protocol.criteria if c.kind != CriterionKind.DISCONTINUATION] == [
        ("inclusion", "1"), ("inclusion", "2"), ("exclusion", "1")
    ]

    html_path = tmp_path / "protocol.html"
    html_path.write_text(
        "<html><body><h1>Protocol NCT07654321 Version 4</h1><h2>4.1 Inclusion Criteria</h2>"
        "<ol><li>Age &ge; 18 years.</li><li>Adequate organ function:<ol type='a'>"
        "<li>Platelets &ge; 100 x 10<sup>9</sup>/L.</li><li>ANC &ge; 1.5 x 10<sup>9</sup>/L</li></ol></li></ol>"
        "<h2>4.2 Exclusion Criteria</h2><ul><li>ALT &gt; 3 &times; ULN.</li></ul>"
        "<h2>4.3 Other</h2><p>Other text.</p></body></html>",
        encoding="utf-8",
    )
    protocol = parse_protocol(html_path)
    assert protocol.version == "4"
    # <ol> numbers as a browser renders them; <ul> items are bullets
    assert [(c.kind.value, c.label, c.parent_label) for c in protocol.criteria] == [
        ("inclusion", "1", None), ("inclusion", "2", None), ("inclusion", "2(a)", "2"), ("inclusion", "2(b)", "2"),
        ("exclusion", "•1", None),
    ]
    assert protocol.criteria[2].text == "a. Platelets ≥ 100 x 10^9/L."


@pytest.mark.slow
def test_docx_automatic_numbering_keeps_the_rendered_labels(tmp_path):
    import docx

    document = docx.Document()
    document.add_heading("4.1 Inclusion Criteria", 2)
    document.add_paragraph("Age ≥ 18 years.", style="List Number")
    document.add_paragraph("Adequate blood counts:", style="List Number")
    document.add_paragraph("ANC ≥ 1.5 × 10⁹/L", style="List Bullet 2")
    document.add_heading("4.2 Exclusion Criteria", 2)
    document.add_paragraph("Pregnancy.", style="List Bullet")
    path = tmp_path / "auto_numbered.docx"
    document.save(str(path))
    protocol = parse_protocol(path)
    assert [(c.kind.value, c.label, c.parent_label) for c in protocol.criteria] == [
        ("inclusion", "1", None), ("inclusion", "2", None), ("inclusion", "2•1", "2"), ("exclusion", "•1", None)
    ]
    assert protocol.criteria[2].text == "• ANC ≥ 1.5 × 10^9/L"


# ---------------------------------------------------------------- failures


def _assert_document_error(path: Path, reason_fragment: str) -> None:
    with pytest.raises(DocumentError) as info:
        parse_protocol(path)
    message = str(info.value)
    assert path.name in message and reason_fragment in message.lower()


def test_corrupt_pdf(tmp_path):
    path = tmp_path / "corrupt.pdf"
    path.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nthis is not a pdf body\n")
    _assert_document_error(path, "not a readable pdf")


def test_truncated_pdf(tmp_path):
    good = _pdf_with_text(tmp_path / "good.pdf", ["1. Age 18 years or older."])
    path = tmp_path / "truncated.pdf"
    path.write_bytes(good.read_bytes()[:300])
    with pytest.raises(DocumentError) as info:
        parse_protocol(path)
    assert "truncated.pdf" in str(info.value)


def _encrypted_pdf(path: Path, user_password: str) -> Path:
    """A one-criterion PDF encrypted with `user_password` (owner password set, as print-restricted PDFs are)."""
    from pypdf import PdfReader, PdfWriter

    plain = _pdf_with_text(path.with_name("plain.pdf"), ["Inclusion Criteria", "1. Age 18 years or older."])
    writer = PdfWriter()
    for page in PdfReader(plain).pages:
        writer.add_page(page)
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def test_encrypted_pdf(tmp_path):
    _assert_document_error(_encrypted_pdf(tmp_path / "locked.pdf", user_password="secret"), "encrypted")


def test_pdf_encrypted_with_empty_user_password_is_read(tmp_path):
    path = _encrypted_pdf(tmp_path / "print_restricted.pdf", user_password="")
    assert [c.label for c in parse_protocol(path).criteria] == ["1"]


def test_pdf_without_text_layer(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")  # a drawing, as a scanned page would be an image: no text
    pdf.add_page()
    path = tmp_path / "scanned.pdf"
    pdf.output(str(path))
    _assert_document_error(path, "no text layer")


@pytest.mark.parametrize("name", ["empty.pdf", "empty.txt", "empty.docx", "empty.json"])
def test_empty_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    _assert_document_error(path, "empty")


def test_whitespace_only_text(tmp_path):
    path = tmp_path / "blank.txt"
    path.write_text("  \n\n \f \n")
    _assert_document_error(path, "no text")


@pytest.mark.parametrize("name", ["protocol.doc", "protocol.xlsx", "protocol"])
def test_unsupported_type(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"something")
    _assert_document_error(path, "unsupported file type")


def test_missing_file(tmp_path):
    _assert_document_error(tmp_path / "nowhere.pdf", "not found")


def test_json_that_is_not_a_ctgov_record(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"hello": "world"}))
    _assert_document_error(path, "protocolsection")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    _assert_document_error(broken, "not valid json")


def test_docx_that_is_not_a_zip(tmp_path):
    path = tmp_path / "fake.docx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    _assert_document_error(path, "not a readable docx")


def test_label_styles_nest_codes_letters_and_roman_numerals(tmp_path):
    path = tmp_path / "styles.txt"
    path.write_text(
        "Exclusion Criteria\n"
        "E1. Any of the following laboratory values:\n"
        "(a) ALT > 3 × ULN\n"
        "(b) Bilirubin > 2 × ULN, unless:\n"
        "i. Gilbert's syndrome\n"
        "ii. haemolysis\n"
        "(c) INR > 1.5\n"
        "E2. Pregnancy.\n"
        "Note: ULN = upper limit of normal of the local laboratory.\n",
        encoding="utf-8",
    )
    protocol = parse_protocol(path)
    assert [(c.label, c.parent_label, c.kind.value) for c in protocol.criteria] == [
        ("E1", None, "exclusion"),
        ("E1(a)", "E1", "exclusion"),
        ("E1(b)", "E1", "exclusion"),
        ("E1(b)(i)", "E1(b)", "exclusion"),
        ("E1(b)(ii)", "E1(b)", "exclusion"),
        ("E1(c)", "E1", "exclusion"),
        ("E2", None, "exclusion"),
        ("note1", None, "context"),  # the note under the list is context, not part of E2
    ]
    assert protocol.criteria[6].text == "E2. Pregnancy."
