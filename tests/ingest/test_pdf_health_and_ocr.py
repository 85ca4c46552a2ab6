"""PDF text-layer health, OCR and bad PDFs, on PDFs made here (plus the corpus PDFs whose fonts are garbled).

Made here: a page that is only an image of its text (a scan), a font embedded without its Unicode map, AES and
RC4 encryption, truncated and non-PDF files. Each bad file gives one DocumentError naming the file and what was
expected; each page OCR reads is marked so.
"""

from __future__ import annotations

import io
import json
import secrets
import shutil
from pathlib import Path

import pytest

from ingest import ocr
from ingest.models import CriterionKind
from ingest.protocol import parse_protocol
from ingest.readers import read_document
from labs.errors import DocumentError, TrialGuardError

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "protocols" / "corpus"
FONT = Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf")

needs_tesseract = pytest.mark.skipif(
    ocr.tesseract_problem() is not None, reason="tesseract not installed (make tesseract)"
)

LINES = [
    "Protocol TG-OCR-007 Version 3.0",
    "4.1 Inclusion Criteria",
    "1. Age of 18 years or older at screening.",
    "2. Signed and dated informed consent form.",
    "3. Willing to attend every scheduled visit.",
    "4.2 Exclusion Criteria",
    "1. Pregnant or breastfeeding women.",
    "2. Known allergy to the study drug or its excipients.",
    "4.3 Withdrawal",
    "Participants may withdraw at any time.",
]


def _text_pdf(path: Path, pages: list[list[str]], *, font: Path | None = None) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    if font is not None:
        pdf.add_font("Embedded", "", str(font))
    for lines in pages:
        pdf.add_page()
        pdf.set_font("Embedded" if font is not None else "Helvetica", size=12)
        for line in lines:
            pdf.cell(0, 9, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def _scanned_pdf(path: Path, pages: list[list[str] | None]) -> Path:
    """Each page a picture of its text and no text layer, as a scanner makes it; None keeps a page as text."""
    import pypdfium2 as pdfium
    from fpdf import FPDF

    pdf = FPDF()
    for index, lines in enumerate(pages):
        pdf.add_page()
        if lines is None:
            pdf.set_font("Helvetica", size=12)
            pdf.cell(0, 9, "A page with a real text layer, kept as it is by the reader.", new_x="LMARGIN", new_y="NEXT")
            continue
        source = _text_pdf(path.with_name(f"source-{index}.pdf"), [lines])
        document = pdfium.PdfDocument(str(source))
        image = document[0].render(scale=200 / 72, grayscale=True).to_pil()
        document.close()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        pdf.image(buffer, x=0, y=0, w=pdf.w, h=pdf.h)
    pdf.output(str(path))
    return path


# ---------------------------------------------------------------- OCR of pages without a usable text layer


@needs_tesseract
def test_a_scanned_page_is_read_by_ocr_and_marked_so(tmp_path):
    path = _scanned_pdf(tmp_path / "scanned.pdf", [None, LINES])
    document = read_document(path)
    assert [page.source for page in document.pages] == ["text", "ocr"]
    assert "no text layer" in document.pages[1].health
    assert "Inclusion Criteria" in document.pages[1].text and "informed consent" in document.pages[1].text
    assert document.ocr_pages == [2] and any("page(s) 2 read by OCR" in p for p in document.problems)
    assert any("≤" in p for p in document.problems)  # the warning that comparators need checking on OCR pages

    protocol = parse_protocol(path)
    eligibility = (CriterionKind.INCLUSION, CriterionKind.EXCLUSION)
    labels = [(c.kind, c.label) for c in protocol.criteria if c.kind in eligibility]
    assert labels == [(CriterionKind.INCLUSION, str(n)) for n in (1, 2, 3)] + [
        (CriterionKind.EXCLUSION, str(n)) for n in (1, 2)
    ]
    for criterion in protocol.criteria:  # quotes stay verbatim against the OCR text
        assert protocol.text[criterion.char_start : criterion.char_end] == criterion.text
        assert criterion.page_start == 2


@needs_tesseract
@pytest.mark.skipif(not FONT.is_file(), reason=f"{FONT} not installed")
def test_a_font_without_a_unicode_map_is_garbled_and_read_by_ocr(tmp_path):
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject

    made = _text_pdf(tmp_path / "made.pdf", [LINES], font=FONT)
    writer = PdfWriter(clone_from=str(made))
    for page in writer.pages:  # what a careless PDF producer leaves out: the glyph-to-character map
        for font in page["/Resources"]["/Font"].values():
            font.get_object().pop(NameObject("/ToUnicode"), None)
    path = tmp_path / "no_unicode_map.pdf"
    writer.write(str(path))
    assert "Inclusion" not in (PdfReader(path).pages[0].extract_text() or "")  # the layer really is garbage

    document = read_document(path)
    page = document.pages[0]
    assert page.source == "ocr" and "garbled" in document.problems[0]
    assert "Exclusion Criteria" in page.text and "excipients" in page.text


@needs_tesseract
def test_a_page_that_ocr_finds_nothing_on_leaves_the_no_text_error(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")  # a drawing and no words
    path = tmp_path / "drawing.pdf"
    pdf.output(str(path))
    with pytest.raises(DocumentError) as info:
        read_document(path)
    message = str(info.value)
    assert "drawing.pdf" in message and "no text layer" in message and "OCR of page(s) 1" in message


def test_without_tesseract_the_error_names_the_file_and_the_pages(tmp_path, monkeypatch):
    path = _scanned_pdf(tmp_path / "needs_ocr.pdf", [None, LINES, LINES])
    monkeypatch.setattr(ocr, "TESSERACT", "tesseract-that-is-not-installed")
    ocr.tesseract_problem.cache_clear()
    try:
        with pytest.raises(ocr.OcrUnavailableError) as info:
            parse_protocol(path)
    finally:
        ocr.tesseract_problem.cache_clear()
    message = str(info.value)
    assert isinstance(info.value, DocumentError) and "needs_ocr.pdf" in message
    assert "page(s) 2-3" in message and "no text layer" in message and "make tesseract" in message


# ---------------------------------------------------------------- bad PDFs: one clear error each


def _assert_error(path: Path, *fragments: str) -> str:
    with pytest.raises(TrialGuardError) as info:
        parse_protocol(path)
    message = str(info.value)
    assert isinstance(info.value, DocumentError) and path.name in message
    for fragment in fragments:
        assert fragment in message.lower(), message
    return message


def test_a_truncated_pdf_says_it_is_truncated(tmp_path):
    good = _text_pdf(tmp_path / "good.pdf", [LINES, LINES])
    data = good.read_bytes()
    for keep in (len(data) // 2, len(data) - 40):
        path = tmp_path / f"cut_{keep}.pdf"
        path.write_bytes(data[:keep])
        _assert_error(path, "truncated", "%%eof")


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(500), b"just some words\n" * 20])
def test_a_file_that_is_not_a_pdf_says_what_was_expected(tmp_path, content):
    path = tmp_path / "renamed.pdf"
    path.write_bytes(content)
    _assert_error(path, "not a readable pdf", "%pdf-")


def _encrypted(tmp_path: Path, algorithm: str, user_password: str, monkeypatch) -> Path:
    from pypdf import PdfReader, PdfWriter

    plain = _text_pdf(tmp_path / "plain.pdf", [LINES])
    writer = PdfWriter()
    for page in PdfReader(plain).pages:
        writer.add_page(page)
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm=algorithm)  # AES: cryptography
    path = tmp_path / f"{algorithm}_{'open' if not user_password else 'locked'}.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    return path


@pytest.mark.parametrize("algorithm", ["AES-128", "AES-256", "RC4-128"])
def test_a_pdf_encrypted_with_an_empty_user_password_is_read(tmp_path, monkeypatch, algorithm):
    path = _encrypted(tmp_path, algorithm, "", monkeypatch)
    protocol = parse_protocol(path)
    assert [c.label for c in protocol.criteria if c.kind == CriterionKind.INCLUSION] == ["1", "2", "3"]
    assert all(page.source == "text" for page in protocol.pages)


@pytest.mark.parametrize("algorithm", ["AES-128", "AES-256"])
def test_a_pdf_encrypted_with_a_password_is_one_clear_error(tmp_path, monkeypatch, algorithm):
    path = _encrypted(tmp_path, algorithm, "secret", monkeypatch)
    message = _assert_error(path, "encrypted", "password")
    assert "Dependency" not in message and "cryptography" not in message


# ---------------------------------------------------------------- the real corpus


def _gold(name: str) -> dict:
    for counts in sorted((CORPUS / "gold").glob("counts_*.json")):
        entries = json.loads(counts.read_text(encoding="utf-8"))
        if name in entries:
            return entries[name]
    raise KeyError(name)


def _health(path: Path):
    from ingest.readers.pdf import check_pdf_pages

    return {h.number: h for h in check_pdf_pages(path)}


@pytest.mark.slow
def test_the_corpus_pdf_garbled_from_end_to_end_is_found_page_by_page():
    name = "NCT00295620_Prot_000"
    assert _gold(name)["text_layer"] == "garbled"
    health = _health(CORPUS / f"{name}.pdf")
    # The gold: pp. 1-47 are the garbled original protocol; of them 2, 31, 35, 38 have no text at all.
    no_text = {2, 31, 35, 38}
    assert {n for n, h in health.items() if h.status == "garbled"} == set(range(1, 48)) - no_text
    assert no_text <= {n for n, h in health.items() if h.status == "no_text"}
    shifted = [h for h in health.values() if h.measures.shift is not None]
    assert shifted and {h.measures.shift for h in shifted} == {29}  # the gold: "shifted by -29 from ASCII"
    readable = [50, 51, 52, 53, 54, 55, 56, 59, 62, 63, 64, 65, 67, 68, 69, 70, 71, 74, 75, 79, 80]
    assert all(health[n].status == "ok" for n in readable)


@pytest.mark.slow
def test_the_corpus_pdf_with_two_garbled_pages_has_exactly_those_found():
    name = "NCT01197378_Prot_000"
    gaps = _gold(name)["text_layer_gaps"]
    health = _health(CORPUS / f"{name}.pdf")
    assert {n for n, h in health.items() if h.status == "garbled"} == set(gaps["garbled"])
    assert {n for n, h in health.items() if h.status == "no_text"} == set(gaps["no_text"])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["NCT00799266_Prot_000", "NCT01090414_Prot_004", "NCT00790933_Prot_001"])
def test_healthy_corpus_pdfs_with_tables_and_abbreviation_lists_are_not_flagged(name):
    assert _gold(name)["text_layer"] == "ok"
    health = _health(CORPUS / f"{name}.pdf")
    flagged = {n: h.reason for n, h in health.items() if h.status == "garbled"}
    # NCT00790933's last page is an e-signature record whose names are in a shifted font: garbled in truth.
    assert set(flagged) <= ({len(health)} if name == "NCT00790933_Prot_001" else set()), flagged


def test_a_symbol_font_comparator_read_as_a_letter_is_reported_not_rewritten(tmp_path):
    lines = LINES[:3] + ["2. Haemoglobin t 10 g/dL and creatinine d 1.2 mg/dL."] + LINES[5:]
    document = read_document(_text_pdf(tmp_path / "stand_in.pdf", [lines]))
    assert "Haemoglobin t 10 g/dL" in document.pages[0].text  # the text stays as the PDF has it
    warning = next(p for p in document.problems if "comparator" in p)
    assert warning.startswith("page 1:") and "creatinine d 1.2" in warning


# ---------------------------------------------------------------- text formats: decoded, and garbage refused

TEXT = "\n".join(line for line in LINES)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"])
def test_text_in_utf16_and_utf32_is_read(tmp_path, codec):
    path = tmp_path / f"protocol_{codec}.txt"
    path.write_bytes(TEXT.replace(">=", "≥").encode(codec))
    protocol = parse_protocol(path)
    assert [c.label for c in protocol.criteria if c.kind == CriterionKind.INCLUSION] == ["1", "2", "3"]
    assert protocol.version == "3.0"


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("nul.html", b"\x00" * 100, "garbled html document"),
        ("nul.txt", b"\x00" * 100, "garbled text document"),
        ("shifted.txt", "".join(c if c == "\n" else chr(ord(c) - 29) for c in TEXT).encode(), "shifted by -29"),
    ],
)
def test_garbage_in_a_text_format_is_refused_with_the_reason(tmp_path, name, content, fragment):
    path = tmp_path / name
    path.write_bytes(content)
    message = _assert_error(path)
    assert fragment in message, message


def test_where_pypdf_cannot_decrypt_pdfium_does(tmp_path, monkeypatch):
    """An install without `cryptography` (not from the lock) or a crypt filter pypdf refuses: the fault is provoked
    by making pypdf's AES provider raise, as it does when the package is missing."""
    from pypdf._crypt_providers import _cryptography
    from pypdf.errors import DependencyError

    path = _encrypted(tmp_path, "AES-128", "", monkeypatch)

    def missing(*args, **kwargs):
        raise DependencyError("cryptography is required for AES algorithm")

    monkeypatch.setattr(_cryptography.CryptAES, "decrypt", missing)
    protocol = parse_protocol(path)
    assert [c.label for c in protocol.criteria if c.kind == CriterionKind.INCLUSION] == ["1", "2", "3"]
