"""Structure of the real protocols: criteria counts against hand counts, labels, pages, exact offsets."""

from __future__ import annotations

import pytest

from ingest.models import CriterionKind

pytestmark = pytest.mark.slow  # parses five ~160-page PDFs once per session (~15 s on 2 cores)

# Hand counts, read from the PDFs' eligibility pages with pypdf (page = 1-based PDF page, not the printed number).
# (inclusion labels, exclusion labels) at the top level, in document order.
HAND_COUNTS = {
    # AURA3, Version 5: 3.1 inclusion 1-13 on pp. 37-38; 3.2 exclusion 1-14 on pp. 38-40, then 15-16 (genetic
    # research) on p. 41.
    "NCT02151981": ([str(n) for n in range(1, 14)], [str(n) for n in range(1, 17)]),
    # FLAURA, Edition 4.0: 3.1 inclusion 1-12 on pp. 38-39 (redacted "CCI" blocks between 6 and 7); 3.2 exclusion
    # 1-14 on pp. 39-41, where 14 is a label whose text is redacted.
    "NCT02296125": ([str(n) for n in range(1, 13)], [str(n) for n in range(1, 15)]),
    # ADAURA, Edition 6.0: inclusion 1-11 on pp. 43-44; exclusion 1-14 on pp. 44-46, then the genetic-research
    # exclusions restart at 1-2 on p. 46.
    "NCT02511106": ([str(n) for n in range(1, 12)], [str(n) for n in range(1, 15)] + ["1", "2"]),
    # Tirzepatide GPGO(a): 6.1 inclusion [1]-[8] on pp. 28-29; 6.2 exclusion [9]-[34] on pp. 29-32.
    "NCT03861052": ([str(n) for n in range(1, 9)], [str(n) for n in range(9, 35)]),
    # NCT06158269 (protocol summary table): inclusion 1-13 on pp. 2-3; exclusion 1-20 on pp. 3-4.
    "NCT06158269": ([str(n) for n in range(1, 14)], [str(n) for n in range(1, 21)]),
    # Negative controls, unnumbered: one criterion per sentence-ended paragraph.
    # NCT06154122 p. 3: 6 inclusion lines, 5 exclusion lines.
    "NCT06154122": ([f"p{n}" for n in range(1, 7)], [f"p{n}" for n in range(1, 6)]),
    # NCT06149832 p. 4: 4.2 inclusion, 5 statements after the lead-in; 4.3 exclusion, 8 statements.
    "NCT06149832": ([f"p{n}" for n in range(1, 6)], [f"p{n}" for n in range(1, 9)]),
    # NCT06157684 p. 2: one run-in paragraph each ("• Inclusion Criteria: ...", "• Exclusion Criteria: ...").
    "NCT06157684": (["p1"], ["p1"]),
}
ELIGIBILITY_PAGES = {
    "NCT02151981": ((37, 38), (38, 41)),
    "NCT02296125": ((38, 39), (39, 41)),
    "NCT02511106": ((43, 44), (44, 46)),
    "NCT03861052": ((28, 29), (29, 32)),
    "NCT06158269": ((2, 3), (3, 4)),
    "NCT06154122": ((3, 3), (3, 3)),
    "NCT06149832": ((4, 4), (4, 4)),
    "NCT06157684": ((2, 2), (2, 2)),
}


def _top(protocol, kind):
    return [c for c in protocol.criteria if c.kind == kind and c.parent_label is None]


@pytest.mark.parametrize("nct", sorted(HAND_COUNTS))
def test_top_level_criteria_match_the_protocols_own_numbering(parsed_protocol, nct):
    protocol = parsed_protocol(nct)
    inclusion, exclusion = HAND_COUNTS[nct]
    assert [c.label for c in _top(protocol, CriterionKind.INCLUSION)] == inclusion
    assert [c.label for c in _top(protocol, CriterionKind.EXCLUSION)] == exclusion


@pytest.mark.parametrize("nct", sorted(HAND_COUNTS))
def test_criteria_sit_on_the_eligibility_pages_not_the_table_of_contents(parsed_protocol, nct):
    protocol = parsed_protocol(nct)
    (inc_first, inc_last), (exc_first, exc_last) = ELIGIBILITY_PAGES[nct]
    inclusion = _top(protocol, CriterionKind.INCLUSION)
    exclusion = _top(protocol, CriterionKind.EXCLUSION)
    assert (inclusion[0].page_start, inclusion[-1].page_end) == (inc_first, inc_last)
    assert (exclusion[0].page_start, exclusion[-1].page_end) == (exc_first, exc_last)


@pytest.mark.parametrize("nct", sorted(HAND_COUNTS))
def test_every_criterion_is_a_verbatim_span_of_the_protocol_text(parsed_protocol, nct):
    protocol = parsed_protocol(nct)
    text = protocol.text
    ids = [c.id for c in protocol.criteria]
    assert len(ids) == len(set(ids)), "criterion ids must be unique"
    for criterion in protocol.criteria:
        assert text[criterion.char_start : criterion.char_end] == criterion.text
        assert criterion.text.strip() == criterion.text and criterion.text
        assert criterion.page_start <= criterion.page_end
        page = next(p for p in protocol.pages if p.number == criterion.page_start)
        assert page.char_start <= criterion.char_start < page.char_start + len(page.text)
        for rule in criterion.rules:
            assert criterion.text[rule.start : rule.end] == rule.quote


@pytest.mark.parametrize(
    ("nct", "version", "effective"),
    [
        ("NCT02151981", "5", "2017-01-10"),
        ("NCT02296125", "4.0", "2018-03-07"),
        ("NCT02511106", "6.0", "2023-08-09"),
        ("NCT03861052", "a", "2019-01-17"),
    ],
)
def test_protocol_id_version_and_date_come_from_the_document(parsed_protocol, nct, version, effective):
    protocol = parsed_protocol(nct)
    assert protocol.protocol_id == nct
    assert protocol.version == version
    assert str(protocol.effective_date) == effective
    assert protocol.criteria[0].id.startswith(f"{nct}:{version}:")


def test_flaura_lab_criterion_keeps_sub_items_with_parent_and_normalized_powers(parsed_protocol):
    protocol = parsed_protocol("NCT02296125")
    by_label = {c.label: c for c in protocol.criteria if c.kind == CriterionKind.EXCLUSION}
    parent = by_label["10"]
    children = [c for c in protocol.criteria if c.parent_label == "10" and c.kind == CriterionKind.EXCLUSION]
    assert len(children) == 7  # ANC, platelets, Hb, ALT, AST, bilirubin, creatinine
    assert children[0].text == "• Absolute neutrophil count <1.5 x 10^9/L."  # "10 9/L" flattened superscript
    assert all(parent.char_start < c.char_start and c.char_end <= parent.char_end for c in children)
    assert parent.page_start == 41 and "creatinine clearance <50 mL/min" in parent.text
    # the header block between pages never leaks into a criterion that wraps across a page break
    for criterion in protocol.criteria:
        assert "Clinical Study Protocol" not in criterion.text and "(164)" not in criterion.text
    inclusion_9 = next(c for c in protocol.criteria if c.kind == CriterionKind.INCLUSION and c.label == "9")
    assert "measured at baseline as ≥10 mm" in inclusion_9.text  # the font's "\x95" glyph read as ≥


def test_criterion_wrapping_across_a_page_break_is_joined_without_the_running_header(parsed_protocol):
    protocol = parsed_protocol("NCT02151981")
    ten = next(c for c in protocol.criteria if c.kind == CriterionKind.INCLUSION and c.label == "10")
    assert (ten.page_start, ten.page_end) == (37, 38)
    assert "measured at baseline as ≥ 10mm in the longest\ndiameter" in ten.text
    assert "Study Code" not in ten.text and "Version 5" not in ten.text


def test_tirzepatide_bracket_labels_sub_items_and_group_titles(parsed_protocol):
    protocol = parsed_protocol("NCT03861052")
    by_label = {c.label: c for c in protocol.criteria}
    assert by_label["3a"].parent_label == "3" and by_label["3b"].parent_label == "3"
    assert by_label["3b"].text.startswith("[3b] for patients who have been taking OAM monotherapy")
    assert by_label["7(e)"].parent_label == "7"
    assert by_label["10"].text.startswith("[10] Had chronic or acute pancreatitis")  # "[" orphaned on its line
    # group titles ("Other Exclusions") belong to no criterion
    assert "Other Exclusions" not in by_label["32"].text
    assert by_label["18"].text.startswith("[18] Have an estimated glomerular filtration rate (eGFR) <30")


def test_criteria_cell_of_a_summary_table_ends_before_the_next_row(parsed_protocol):
    protocol = parsed_protocol("NCT06158269")
    last = _top(protocol, CriterionKind.EXCLUSION)[-1]
    assert last.text == "20. Patients who are unwilling or unable to follow the protocol."


def test_adaura_restarted_genetic_numbering_gets_unique_ids_and_no_lead_in(parsed_protocol):
    protocol = parsed_protocol("NCT02511106")
    exclusion = _top(protocol, CriterionKind.EXCLUSION)
    assert exclusion[-2].id.endswith(":exclusion:1~2") and exclusion[-1].id.endswith(":exclusion:2~2")
    assert exclusion[-2].text == "1. Prior allogeneic bone marrow transplant."
    assert "In addition" not in exclusion[13].text
    # the post-recurrence eligibility list that follows is not part of the exclusion criteria
    assert not any("locally advanced recurrence" in c.text for c in exclusion)


def test_lab_bearing_rule_sections_are_found_and_tagged(parsed_protocol):
    protocol = parsed_protocol("NCT03861052")
    kinds = {c.kind for c in protocol.criteria}
    assert CriterionKind.DISCONTINUATION in kinds
    titles = {c.section_title for c in protocol.criteria if c.kind == CriterionKind.DISCONTINUATION}
    assert any("Permanent Discontinuation" in t for t in titles)


def test_context_segments_hold_referenced_tables(parsed_protocol):
    protocol = parsed_protocol("NCT02511106")
    context = [c for c in protocol.criteria if c.kind == CriterionKind.CONTEXT]
    assert any(c.label == "Table 6" and "Dose reduction levels" in c.text for c in context)
