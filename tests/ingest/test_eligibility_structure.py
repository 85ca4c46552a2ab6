"""Eligibility sections from the document's own structure, on documents written for these tests.

One small protocol is written three ways: a text file with form-feed pages and a table of contents, a PDF with
the same table of contents but no bookmarks, and a PDF with bookmarks. It has an unnumbered cover (so printed page
numbers are one less than PDF pages), a synopsis restating key criteria, two cohorts each with an inclusion and an
exclusion set, and an appendix quoting old criteria text. Further small documents cover a synopsis-only protocol,
a protocol without criteria, old text only, and a list whose numbering restarts under a new lead-in.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ingest.lines import Line
from ingest.models import CriterionKind
from ingest.protocol import parse_protocol
from ingest.sections import numbered_heading

COVER = ["Clinical Study Protocol QX-204", "An Open-Label Phase 2 Study of Quintarib in Two Cohorts",
         "Protocol Version 3.0, 14 March 2025"]
TOC = [
    "TABLE OF CONTENTS",
    "1. PROTOCOL SYNOPSIS ........................................ 2",
    "2. BACKGROUND ................................................ 3",
    "5. SELECTION OF PARTICIPANTS ................................. 4",
    "5.1 Inclusion Criteria for Cohort A ........................... 4",
    "5.2 Exclusion Criteria for Cohort A ........................... 4",
    "5.3 Inclusion Criteria for Cohort B ........................... 5",
    "5.4 Exclusion Criteria for Cohort B ........................... 5",
    "6. TREATMENT PLAN ............................................ 5",
    "APPENDIX 1 SUMMARY OF CHANGES ................................ 6",
]
SYNOPSIS = [
    "1. PROTOCOL SYNOPSIS",
    "Key Inclusion Criteria:",
    "1. Men and women of at least 18 years.",
    "2. Platelet count of at least 75 x 10^9/L.",
    "Key Exclusion Criteria:",
    "1. Known infection with hepatitis C virus.",
]
BACKGROUND = ["2. BACKGROUND", "Quintarib is an oral inhibitor of a kinase studied here in two cohorts of patients."]
COHORT_A = [
    "5. SELECTION OF PARTICIPANTS",
    "5.1 Inclusion Criteria for Cohort A",
    "1. Age 18 years or older at the screening visit.",
    "2. Measurable disease documented by imaging.",
    "3. Platelet count of at least 100 x 10^9/L.",
    "5.2 Exclusion Criteria for Cohort A",
    "1. Earlier treatment with any kinase inhibitor.",
    "2. Pregnancy or breastfeeding.",
]
COHORT_B = [
    "5.3 Inclusion Criteria for Cohort B",
    "1. Age 12 years or older at the screening visit.",
    "2. Body weight of 40 kg or more.",
    "5.4 Exclusion Criteria for Cohort B",
    "1. Active hepatitis B infection.",
    "2. Major surgery within the previous four weeks.",
    "3. Known allergy to any excipient of the tablets.",
    "6. TREATMENT PLAN",
    "Participants take quintarib once daily with water.",
]
APPENDIX = [
    "APPENDIX 1 SUMMARY OF CHANGES",
    "The following change was made in version 3.0.",
    "Old text:",
    "Inclusion Criteria",
    "1. Age 21 years or older at the screening visit.",
    "2. Platelet count of at least 150 x 10^9/L.",
]
PAGES = [COVER, TOC, SYNOPSIS, BACKGROUND, COHORT_A, COHORT_B, APPENDIX]
OUTLINE = [("1. PROTOCOL SYNOPSIS", 0, 3), ("2. BACKGROUND", 0, 4), ("5. SELECTION OF PARTICIPANTS", 0, 5),
           ("5.1 Inclusion Criteria for Cohort A", 1, 5), ("5.2 Exclusion Criteria for Cohort A", 1, 5),
           ("5.3 Inclusion Criteria for Cohort B", 1, 6), ("5.4 Exclusion Criteria for Cohort B", 1, 6),
           ("6. TREATMENT PLAN", 0, 6), ("APPENDIX 1 SUMMARY OF CHANGES", 0, 7),
           # the appendix bookmarks the old section it quotes: still old text
           ("Inclusion Criteria", 1, 7)]

# (kind, set name must mention, first PDF page, labels)
EXPECTED_SETS = [
    (CriterionKind.INCLUSION, "Cohort A", 5, ["1", "2", "3"]),
    (CriterionKind.EXCLUSION, "Cohort A", 5, ["1", "2"]),
    (CriterionKind.INCLUSION, "Cohort B", 6, ["1", "2"]),
    (CriterionKind.EXCLUSION, "Cohort B", 6, ["1", "2", "3"]),
]


def _write_text(path: Path, pages: list[list[str]]) -> Path:
    path.write_text("\f".join("\n".join(page) + "\n" for page in pages), encoding="utf-8")
    return path


def _write_pdf(path: Path, pages: list[list[str]], outline: list[tuple[str, int, int]] | None) -> Path:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(dt.datetime(2025, 3, 14, tzinfo=dt.timezone.utc))
    bookmarks = {}
    for title, level, page in outline or []:
        bookmarks.setdefault(page, []).append((title, level))
    for number, lines in enumerate(pages, start=1):
        pdf.add_page()
        pending = list(bookmarks.get(number, []))
        for line in lines:
            is_heading = pending and line == pending[0][0]
            if is_heading:
                title, level = pending.pop(0)
                pdf.start_section(title, level=level)
            pdf.set_font("Helvetica", "B" if is_heading else "", 13 if is_heading else 10)
            pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


@pytest.fixture(params=["txt", "pdf_toc", "pdf_outline"])
def cohort_protocol(request, tmp_path):
    if request.param == "txt":
        path = _write_text(tmp_path / "qx204.txt", PAGES)
    else:
        outline = OUTLINE if request.param == "pdf_outline" else None
        path = _write_pdf(tmp_path / "qx204.pdf", PAGES, outline)
    return request.param, parse_protocol(path)


def test_each_cohort_set_is_found_in_the_body_with_its_pages_and_labels(cohort_protocol):
    source, protocol = cohort_protocol
    sets = protocol.eligibility_sets
    assert len(sets) == len(EXPECTED_SETS), [s.name for s in sets]
    for found, (kind, mention, page, labels) in zip(sets, EXPECTED_SETS, strict=True):
        assert found.kind is kind and mention in found.name and found.source == "body"
        assert found.page_start == page and found.count == len(labels)
        assert found.found_by == ("outline" if source == "pdf_outline" else "toc")
        members = [c for c in protocol.criteria if c.criteria_set == found.name and c.kind is kind]
        assert [c.label for c in members if c.parent_label is None] == labels
        assert all(c.page_start == page for c in members)
    assert protocol.problems == []


def test_synopsis_and_amendment_restatements_are_not_eligibility(cohort_protocol):
    _, protocol = cohort_protocol
    eligibility = [c for c in protocol.criteria if c.kind in (CriterionKind.INCLUSION, CriterionKind.EXCLUSION)]
    texts = " ".join(c.text for c in eligibility)
    assert "Age 21 years" not in texts and "150 x 10^9/L" not in texts  # old text in the appendix
    assert "Men and women of at least 18" not in texts and "hepatitis C" not in texts  # synopsis bullets
    assert {c.page_start for c in eligibility} == {5, 6}


def test_labels_are_unique_within_a_set_and_ids_unique_overall(cohort_protocol):
    _, protocol = cohort_protocol
    ids = [c.id for c in protocol.criteria]
    assert len(ids) == len(set(ids))
    keys = [(c.kind, c.criteria_set, c.label) for c in protocol.criteria]
    assert len(keys) == len(set(keys))
    # The same label in two sets stays two criteria: label "1" exists in all four sets.
    assert len({c.criteria_set for c in protocol.criteria if c.label == "1"}) == 4


def test_synopsis_only_criteria_are_used_and_said_loudly(tmp_path):
    path = _write_text(tmp_path / "brief.txt", [
        ["Study Synopsis", "Objectives: to describe the safety of a new dressing.",
         "Key Inclusion Criteria:", "1. Adults with a chronic leg ulcer.", "2. Ulcer area of 2 to 20 cm2.",
         "Key Exclusion Criteria:", "1. Known allergy to silver."],
    ])
    protocol = parse_protocol(path)
    assert [s.source for s in protocol.eligibility_sets] == ["synopsis", "synopsis"]
    assert sum("found only in the synopsis" in p for p in protocol.problems) == 2
    assert [c.label for c in protocol.criteria if c.kind is CriterionKind.INCLUSION] == ["1", "2"]


def test_a_protocol_without_criteria_says_so(tmp_path):
    path = _write_text(tmp_path / "survey.txt", [["Observational Registry Plan",
                                                  "All patients seen at the clinic are asked to take part."]])
    protocol = parse_protocol(path)
    assert protocol.eligibility_sets == []
    assert protocol.problems and protocol.problems[0].startswith("NO ELIGIBILITY CRITERIA FOUND")


def test_old_text_alone_is_never_used(tmp_path):
    path = _write_text(tmp_path / "changes.txt", [[
        "Summary of Changes in Amendment 2", "Section 4.1 was changed as follows.", "Previous text:",
        "Inclusion Criteria", "1. Age 30 years or older.", "Revised text:", "Age 25 years or older.",
    ]])
    protocol = parse_protocol(path)
    assert not [c for c in protocol.criteria if c.kind is CriterionKind.INCLUSION]
    assert any("amendment text" in p and "not used" in p for p in protocol.problems)


def test_a_restarted_list_under_a_new_lead_in_is_its_own_set(tmp_path):
    path = _write_text(tmp_path / "pairs.txt", [[
        "4. STUDY POPULATION", "4.1 Inclusion Criteria",
        "Caregivers must meet the following criteria to take part:",
        "1. Aged 21 years or older.", "2. Living with the participant.",
        "Children must meet the following criteria to take part:",
        "1. Aged 6 to 11 years.", "2. Diagnosis of asthma for at least one year.", "3. Able to use an inhaler.",
        "4.2 Exclusion Criteria", "1. Smoking in the household.",
    ]])
    protocol = parse_protocol(path)
    inclusion = [s for s in protocol.eligibility_sets if s.kind is CriterionKind.INCLUSION]
    assert [s.count for s in inclusion] == [2, 3]
    assert "Caregivers" in inclusion[0].name and "Children" in inclusion[1].name
    children = [c for c in protocol.criteria if c.criteria_set == inclusion[1].name]
    assert [c.label for c in children] == ["1", "2", "3"] and "Aged 6 to 11" in children[0].text
    (exclusion,) = [s for s in protocol.eligibility_sets if s.kind is CriterionKind.EXCLUSION]
    assert exclusion.name == "exclusion" and exclusion.count == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Inclusion Criteria4.2.", ("4.2", "Inclusion Criteria")),  # pypdf puts an automatic number after
        ("Study Objectives 3.1", ("3.1", "Study Objectives")),
        ("Refer to the schedule in section 4.2.", None),  # a sentence, not a heading
        ("Visit 2", None),  # a single number after a title is not a heading number
    ],
)
def test_a_heading_number_printed_after_its_title(text, expected):
    heading = numbered_heading(Line(0, 0, len(text), text, 1))
    assert (None if heading is None else (heading.number, heading.title)) == expected


def test_a_section_on_a_page_without_text_is_named_with_its_page(tmp_path):
    path = _write_text(tmp_path / "scanned.txt", [
        ["Protocol RB-7", "A Study of Rubicor in Adults"],
        ["CONTENTS", "4.1 Inclusion Criteria ............ 3", "4.2 Exclusion Criteria ............ 4",
         "5. Treatment ............ 4"],
        [""],  # the inclusion page: a scan without a text layer
        ["4.2 Exclusion Criteria", "1. Prior exposure to rubicor.", "5. Treatment", "Rubicor is taken daily."],
    ])
    protocol = parse_protocol(path)
    (problem,) = [p for p in protocol.problems if p.startswith("no inclusion criteria found")]
    assert "p. 3" in problem and "no text layer" in problem
    assert [(s.kind, s.count, s.page_start, s.found_by) for s in protocol.eligibility_sets] == [
        (CriterionKind.EXCLUSION, 1, 4, "toc")]


def test_prose_that_mentions_changes_or_the_synopsis_does_not_demote_the_body(tmp_path):
    path = _write_text(tmp_path / "prose.txt", [[
        "4. STUDY POPULATION",
        "The ethics committee approved the new text of the consent form; the Synopsis gives an overview.",
        "4.1 Inclusion Criteria", "1. Aged 40 to 75 years.", "2. Resting heart rate above 50 beats per minute.",
        "4.2 Exclusion Criteria", "1. Atrial fibrillation.",
    ]])
    protocol = parse_protocol(path)
    assert [(s.kind, s.count, s.source) for s in protocol.eligibility_sets] == [
        (CriterionKind.INCLUSION, 2, "body"), (CriterionKind.EXCLUSION, 1, "body")]
    assert protocol.problems == []
