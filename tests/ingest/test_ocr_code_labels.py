"""Item codes that OCR misread ("INO1", "INOS" for IN01, IN05), on text written for these tests: the sequence
decides whether a code with letters for digits is an item, and its label is the repaired code."""

from __future__ import annotations

from ingest.criteria import split_items
from ingest.enumeration import read_marker
from ingest.lines import split_lines


def _items(text: str):
    return split_items(split_lines(text, [0], [1]), 0)


def test_letters_for_digits_inside_a_code_list_are_read_by_the_sequence():
    text = "\n".join([
        "INO1. Are at least 12 years old at the first visit",
        "INO2. Weigh 30 kg or more",
        "IN03. Can swallow a capsule",
        "INOS. Keep a sleep diary for two weeks",  # S for 5 after a jump: not a continuation (4 is missing)
        "IN04. Live within an hour of the clinic",
        "INOS. Keep a sleep diary for two weeks",
        "IN06. Signed consent",
    ])
    items = _items(text)
    assert [i.label for i in items] == ["IN01", "IN02", "IN03", "IN04", "IN05", "IN06"]
    first = items[0]
    assert first.lines[0].text.startswith("INO1.")  # the text stays as OCR read it (citations are verbatim)
    assert any("INO1" in p and "IN01" in p for p in first.problems)  # the repair is said
    assert items[2].lines[-1].text.startswith("INOS.")  # the out-of-sequence "INOS" is text of IN03


def test_a_lone_word_that_looks_like_a_misread_code_is_text():
    items = _items("1. Adults.\nICSI cycles planned in the next month are allowed.\n2. Consent.\n")
    assert [i.label for i in items] == ["1", "2"]
    assert read_marker("INSULIN use") is None and read_marker("EOS visit") is None
