"""Criteria numbered like sub-sections ("6.1.1 ..." under "6.1 Inclusion Criteria"), on text written for these
tests: a run of the heading's children that read as sentences are items labelled as printed; short Title Case
children are real sub-sections."""

from __future__ import annotations

from ingest.models import CriterionKind
from ingest.protocol import protocol_from_document
from ingest.readers.models import ExtractedDocument, ExtractedPage


def _protocol(*pages: str):
    document = ExtractedDocument(
        path="fresh.txt", kind="text", pages=[ExtractedPage(number=k, text=t) for k, t in enumerate(pages, 1)]
    )
    return protocol_from_document(document)


def _top(protocol, kind):
    return [c.label for c in protocol.criteria if c.kind == kind and c.parent_label is None]


INCLUSION = [
    "Written consent signed before any screening test",
    "Age between 21 and 70 years on the day of consent",
    "Serum albumin of at least 30 g/L at the screening visit",
    "[Deleted in amendment 2]",  # a withdrawn criterion keeps its place in the sequence
    "Able to walk without help for",  # wraps onto the next line
]
EXCLUSION = [
    "Prior treatment with any anti-fibrotic medicine",
    "Active hepatitis B or C infection",
    "Creatinine clearance below 40 mL/min",
]


def _document(section: str = "6", deeper: int = 2) -> str:
    inc = f"{section}.{deeper - 1}" if deeper > 1 else section
    lines = ["6 SELECTION OF PARTICIPANTS", "Participants are chosen as follows.", f"{inc} Inclusion Criteria",
             "Participants must meet every criterion below."]
    for n, text in enumerate(INCLUSION, 1):
        lines.append(f"{inc}.{n} {text}")
    lines.append("six minutes in the screening walk test")
    exc = f"{section}.{deeper}"
    lines += [f"{exc} Exclusion Criteria"]
    for n, text in enumerate(EXCLUSION, 1):
        lines.append(f"{exc}.{n} {text}")
    lines += ["7 TREATMENT OF PARTICIPANTS", "The study medicine is given once daily with food."]
    return "\n".join(lines)


def test_children_of_the_criteria_heading_that_read_as_sentences_are_items_labelled_as_printed():
    protocol = _protocol(_document())
    assert _top(protocol, CriterionKind.INCLUSION) == ["6.1.1", "6.1.2", "6.1.3", "6.1.4", "6.1.5"]
    assert _top(protocol, CriterionKind.EXCLUSION) == ["6.2.1", "6.2.2", "6.2.3"]
    fourth = next(c for c in protocol.criteria if c.label == "6.1.5")
    assert fourth.text.endswith("screening walk test")  # the wrapped line stays with its criterion
    last = next(c for c in protocol.criteria if c.label == "6.2.3")
    assert "TREATMENT" not in last.text  # the next chapter ends the list
    for criterion in protocol.criteria:
        assert protocol.text[criterion.char_start : criterion.char_end] == criterion.text


def test_criteria_numbered_under_a_top_level_criteria_heading_and_split_over_pages():
    page1 = "\n".join(["3 INCLUSION CRITERIA", *(f"3.{n} {t}" for n, t in enumerate(INCLUSION[:2], 1))])
    page2 = "\n".join([*(f"3.{n} {t}" for n, t in enumerate(INCLUSION[2:3], 3)), "4 EXCLUSION CRITERIA",
                       *(f"4.{n} {t}" for n, t in enumerate(EXCLUSION, 1)), "5 STUDY PLAN", "Visits are weekly."])
    protocol = _protocol(page1, page2)
    assert _top(protocol, CriterionKind.INCLUSION) == ["3.1", "3.2", "3.3"]
    assert _top(protocol, CriterionKind.EXCLUSION) == ["4.1", "4.2", "4.3"]


def test_title_case_sub_sections_under_a_criteria_heading_stay_headings():
    text = "\n".join([
        "5.1 Inclusion Criteria",
        "5.1.1 Dose Escalation Cohorts",
        "1. Adults with a measurable tumour.",
        "2. Life expectancy of at least three months.",
        "5.1.2 Expansion Cohorts",
        "1. Adults with a confirmed relapse after one prior line.",
        "2. Adequate bone marrow function.",
        "5.2 Exclusion Criteria",
        "1. Pregnancy.",
    ])
    protocol = _protocol(text)
    labels = [c.label for c in protocol.criteria if c.kind == CriterionKind.INCLUSION]
    assert not any(label.startswith("5.1.") for label in labels)
    assert _top(protocol, CriterionKind.EXCLUSION) == ["1"]
