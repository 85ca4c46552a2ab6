"""A list cut by a footnote whose cross-reference wraps onto its own line ("... See" / "Section 7.3."), on text
written for these tests: such a line is a reference, not a heading with its number after it, so the list goes on
after the page break."""

from __future__ import annotations

from ingest.models import CriterionKind
from ingest.protocol import protocol_from_document
from ingest.readers.models import ExtractedDocument, ExtractedPage
from ingest.sections import numbered_heading
from ingest.lines import split_lines


def _protocol(*pages: str):
    document = ExtractedDocument(
        path="fresh.txt", kind="text", pages=[ExtractedPage(number=k, text=t) for k, t in enumerate(pages, 1)]
    )
    return protocol_from_document(document)


def test_bullets_continue_after_a_footnote_whose_reference_wrapped_onto_its_own_line():
    page1 = "\n".join([
        "Trial XR-5 Integrated Protocol Page 9 of 40",
        "3.2 Exclusion Criteria",
        "• Known allergy to the study drug or its excipients",
        "• Major surgery within the last four weeks",
        "• Ongoing treatment with another study drug*",
        "*: This criterion changed in the second amendment. See",
        "Section 9.4.",
    ])
    page2 = "\n".join([
        "Trial XR-5 Integrated Protocol Page 10 of 40",
        "• Pregnancy or breast feeding",
        "• Radiotherapy within three weeks of the first dose",
        "3.3 Withdrawal of Participants",
        "Participants may leave the study at any time.",
    ])
    protocol = _protocol(page1, page2)
    labels = [c.label for c in protocol.criteria if c.kind == CriterionKind.EXCLUSION and c.parent_label is None]
    assert labels == ["•1", "•2", "•3", "•4", "•5"]


def test_a_reference_word_with_a_number_is_not_a_heading_but_a_title_with_its_number_after_it_is():
    line = lambda text: split_lines(text, [0], [1])[0]  # noqa: E731 - one-line helper
    assert numbered_heading(line("Appendix 12.1")) is None
    assert numbered_heading(line("Tables 4.2.")) is None
    heading = numbered_heading(line("Exclusion Criteria5.3."))
    assert heading is not None and heading.number == "5.3"
