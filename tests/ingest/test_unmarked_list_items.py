"""Criteria with no marker at all (the text layer lost the bullet glyphs), on text written for these tests: one
criterion per line group, a new one at a capitalised line after a line that stops short of the column width."""

from __future__ import annotations

from ingest.criteria import split_paragraphs
from ingest.lines import split_lines

LOST_BULLETS = """Participants must meet all of the following conditions to take part in this registry:
Aged between 2 and 16 years on the day the first dose is prescribed
Confirmed diagnosis of juvenile arthritis made by a consultant
A decision to start the study medicine has been taken by the treating doctor for
reasons independent of this registry and documented in the medical notes
Parent or guardian able to read the diary questions and willing to send them each
month during the first year, and
Written consent from a parent or guardian
Note: children below 2 years may join only after a discussion with the sponsor.
"""


def _paragraphs(text: str):
    return split_paragraphs(split_lines(text, [0], [1]), 0)


def test_lines_without_markers_or_stops_are_split_where_a_short_line_ends_an_item():
    items = _paragraphs(LOST_BULLETS)
    assert [i.label for i in items] == ["•1", "•2", "•3", "•4", "•5"]
    assert all(i.assigned for i in items)  # positions the parser gave, not printed labels
    assert items[2].lines[-1].text.startswith("reasons independent")  # a wrapped line stays with its item
    assert items[3].lines[-1].text.startswith("month during")
    assert not any("children below" in ln.text for i in items for ln in i.lines)  # the note is not a criterion


def test_a_prose_paragraph_of_full_lines_stays_one_criterion():
    prose = (
        "Any participant who in the opinion of the investigator has a medical condition that would make\n"
        "taking part unsafe, including but not limited to uncontrolled heart failure, recent stroke or\n"
        "Guillain-Barre syndrome within the past two years, severe liver disease or a known allergy to\n"
        "any part of the study medicine, will not be enrolled in the study.\n"
    )
    assert [i.label for i in _paragraphs(prose)] == ["p1"]
