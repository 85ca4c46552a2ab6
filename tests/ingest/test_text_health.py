"""Text-layer health on text written here: garbled layers are found by general measures, healthy ones are left alone.

The garbled texts are made from fresh prose the way broken fonts make them (a constant code-point shift, glyph
codes in the private-use area), so the checks are exercised on the mechanism, not on any document's strings.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.text_health import check_page, load_settings, measure_text, page_ranges
from labs.errors import ConfigError

PROSE = (
    "Participants will be enrolled at the screening visit once they have signed the consent form. Each participant "
    "must meet all of the inclusion criteria and none of the exclusion criteria before the first dose is given. "
    "Blood samples are taken within seven days before randomisation, and results from the local laboratory are "
    "recorded in the case report form. A participant who withdraws from the study may not be replaced."
)

GERMAN = (
    "Die Patienten werden in der Studie nach der Aufnahme für sechs Monate behandelt. Vor der ersten Dosis wird "
    "eine Blutprobe entnommen, und die Werte des lokalen Labors werden in den Prüfbogen eingetragen, wenn sie "
    "vorliegen. Ein Patient kann die Studie zu jeder Zeit ohne Angabe von Gründen verlassen."
)

ABBREVIATIONS = "\n".join([
    "LIST OF ABBREVIATIONS", "AE Adverse event", "ALP Alkaline phosphatase", "BMI Body mass index",
    "CRF Case report form", "ECG Electrocardiogram", "GCP Good Clinical Practice", "HbA1c Glycated haemoglobin",
    "IRB Institutional Review Board", "LLN Lower limit of normal", "PK Pharmacokinetics", "QTc Corrected QT interval",
    "SAE Serious adverse event", "ULN Upper limit of normal", "WBC White blood cell count",
])

# A visit schedule: rows of one repeated mark, the kind of page where a shift can turn "Xg" into a short word.
SCHEDULE = "\n".join(
    ["Procedure Screening Week 1 Week 2 Week 4 Week 8 Week 12 Week 16 Week 20 Week 24"]
    + [f"{name} " + " ".join(["X", "Xg"] * 6) for name in ("Vital signs", "ECG", "Haematology", "Chemistry",
                                                             "Urinalysis", "PK sample", "AE review", "ConMeds")]
)


def _encode_shifted(text: str, offset: int) -> str:
    """What a font without a Unicode map yields: every glyph code at a constant offset from its character."""
    return "".join(char if char in "\n" else chr(ord(char) + offset) for char in text)


@pytest.mark.parametrize("offset", [-29, -3, 17, 40])
def test_a_constant_code_point_shift_is_garbled_and_the_shift_that_undoes_it_is_named(offset):
    health = check_page(4, _encode_shifted(PROSE, offset), drawn=True)
    assert health.status == "garbled" and health.needs_ocr
    assert health.measures.shift == -offset
    assert f"shifted by {offset:+d}" in health.reason


def test_a_shifted_page_of_another_language_is_garbled_too():
    assert check_page(1, _encode_shifted(GERMAN, -29), drawn=True).status == "garbled"


@pytest.mark.parametrize("text", [PROSE, GERMAN, ABBREVIATIONS, SCHEDULE, PROSE.upper()])
def test_healthy_pages_are_not_flagged(text):
    health = check_page(2, text, drawn=True)
    assert health.status == "ok" and not health.needs_ocr, health.reason


def test_symbol_font_bullets_on_a_healthy_list_are_not_garbage():
    bullets = "\n".join(f"\uf0b7 {line}" for line in PROSE.split(". "))
    assert check_page(1, bullets, drawn=True).status == "ok"


def test_a_layer_of_private_use_glyph_codes_is_garbled():
    codes = "".join(chr(0xF000 + ord(char)) if not char.isspace() else char for char in PROSE)
    health = check_page(9, codes, drawn=True)
    assert health.status == "garbled" and "undecodable" in health.reason
    assert health.measures.undecodable_share > 0.9


def test_a_layer_of_control_codes_from_a_renumbered_font_is_garbled():
    # A subset font without a Unicode map numbers glyphs in order of first use: a substitution, not a shift.
    order: dict[str, str] = {}
    coded = "".join(
        char if char.isspace() else order.setdefault(char, chr(1 + len(order))) for char in PROSE
    )
    assert check_page(1, coded, drawn=True).status == "garbled"


def test_pages_too_short_to_judge_are_judged_by_what_is_drawn():
    assert check_page(1, "", drawn=False).status == "blank"
    assert check_page(1, " \n ", drawn=True).status == "no_text"  # a scan: drawn, no text
    scan_with_stamp = check_page(1, "Page 7 of 80", drawn=True, has_image=True)
    assert scan_with_stamp.status == "no_text" and "image" in scan_with_stamp.reason
    assert check_page(1, "Appendix 3", drawn=True).status == "ok"  # a short page of real text


def test_measures_count_words_and_undecodable_characters():
    measures = measure_text("the trial of the \ufffd\ufffd drug 12")
    assert measures.words == 5 and measures.common_share == pytest.approx(3 / 5)
    assert measures.undecodable_share == pytest.approx(2 / len("thetrialofthe\ufffd\ufffddrug12"), abs=1e-4)


def test_page_lists_are_written_as_ranges():
    assert page_ranges([9, 1, 2, 3, 7, 10]) == "1-3, 7, 9-10"
    assert page_ranges([5]) == "5" and page_ranges([]) == ""


def test_the_settings_file_is_validated_and_a_bad_one_names_itself(tmp_path: Path):
    assert "the" in load_settings().vocabulary
    bad = tmp_path / "health.yaml"
    source = Path(__file__).resolve().parents[2] / "ingest" / "text_health.yaml"
    bad.write_text(source.read_text(encoding="utf-8").replace("[the, of,", "[t, of,"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(bad)
    assert str(bad) in str(info.value) and "two letters" in str(info.value)


def test_a_letter_where_a_comparator_belongs_is_reported_and_ordinary_letters_are_not():
    from ingest.text_health import comparator_stand_ins

    broken = "Adults aged t 21 years with a platelet count t 90 x 10^9/L and bilirubin d 2 mg/dL."
    found = comparator_stand_ins(broken)
    assert len(found) == 3 and "aged t 21" in found[0] and "bilirubin d 2" in found[2]
    ordinary = "Take 200 mg q 12 hr (CTCAE v 4.0); see item d) 5 and Figure 3 d; plan (a) 2 or (b)."
    assert comparator_stand_ins(ordinary) == []
