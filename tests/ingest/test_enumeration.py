"""Lists read from their enumeration sequence, on protocol text written for these tests (many styles)."""

from __future__ import annotations

import pytest

from ingest.criteria import split_items
from ingest.enumeration import read_marker
from ingest.lines import split_lines
from ingest.models import CriterionKind
from ingest.protocol import protocol_from_document
from ingest.readers.models import ExtractedDocument, ExtractedPage

TOPICS = [
    "has a documented diagnosis confirmed by the local laboratory",
    "agrees to attend every scheduled visit of the study",
    "has not taken part in another interventional study in the last 30 days",
    "can swallow tablets whole without crushing them",
    "has a body weight of at least 40 kg at screening",
    "is willing to keep a daily symptom diary",
]


def _spelled(n: int) -> str:
    """A word that differs for every n ("ba", "ca", ...), so no two items look alike once digits are ignored."""
    letters = ""
    while True:
        n, r = divmod(n, 26)
        letters += "abcdefghijklmnopqrstuvwxyz"[r]
        if n == 0:
            return letters


def _protocol(*pages: str):
    document = ExtractedDocument(
        path="fresh.txt", kind="text", pages=[ExtractedPage(number=k, text=t) for k, t in enumerate(pages, 1)]
    )
    return protocol_from_document(document)


def _items(text: str):
    return split_items(split_lines(text, [0], [1]), 0)


def _top(protocol, kind=CriterionKind.INCLUSION):
    return [c.label for c in protocol.criteria if c.kind == kind and c.parent_label is None]


def _assert_verbatim(protocol):
    for criterion in protocol.criteria:
        assert protocol.text[criterion.char_start : criterion.char_end] == criterion.text


def test_two_hundred_numbered_items_over_many_pages_with_running_headers():
    items = [f"{n}. The participant {TOPICS[n % len(TOPICS)]} (requirement {_spelled(n)})." for n in range(1, 201)]
    pages, per_page = [], 23
    for p in range(0, len(items), per_page):
        head = [f"Study QX-{p // per_page + 7}0 Clinical Protocol Amendment 3", ""]
        foot = ["", f"Page {p // per_page + 2} of 12"]
        body = items[p : p + per_page]
        if p == 0:
            body = ["4 STUDY POPULATION", "4.1 Inclusion Criteria", "Subjects must meet all of these:", *body]
        pages.append("\n".join(head + body + foot))
    pages.append("\n".join(["Study QX-990 Clinical Protocol Amendment 3", "4.2 Exclusion Criteria",
                            "1. The participant is pregnant.", "2. The participant is breastfeeding.",
                            "5 TREATMENTS", "Drug is given daily.", "Page 12 of 12"]))
    protocol = _protocol(*pages)
    assert _top(protocol) == [str(n) for n in range(1, 201)]
    assert _top(protocol, CriterionKind.EXCLUSION) == ["1", "2"]
    by_label = {c.label: c for c in protocol.criteria if c.kind == CriterionKind.INCLUSION}
    assert by_label["137"].text.startswith("137. The participant")
    assert by_label["137"].text.endswith(f"(requirement {_spelled(137)}).")
    _assert_verbatim(protocol)


@pytest.mark.parametrize("frame", ["{n}.", "{n})", "({n})", "[{n}]", "{n}"])
def test_every_number_frame_gives_the_printed_numbers_and_letter_sub_items(frame):
    lines = ["5.1 Inclusion Criteria"]
    for n in range(1, 13):
        lines.append(f"{frame.format(n=n)} Participant {TOPICS[n % len(TOPICS)]},")
        lines.append("as judged by the investigator at the screening visit.")
        if n == 4:
            lines += ["a) Haemoglobin at least 10 g/dL", "b) Platelets at least 100 x 10^9/L"]
    lines += ["5.2 Exclusion Criteria", f"{frame.format(n=1)} Known allergy to the study drug."]
    protocol = _protocol("\n".join(lines))
    printed = [f"({n})" if frame.startswith("(") else str(n) for n in range(1, 13)]  # "(a)"-style keeps its parens
    assert _top(protocol) == printed
    four = printed[3]
    subs = [c.label for c in protocol.criteria if c.parent_label == four]
    assert subs == [f"{four}(a)", f"{four}(b)"]
    _assert_verbatim(protocol)


def test_bare_numbers_count_only_in_sequence_under_sub_headings():
    lines = ["6.1 Inclusion Criteria", "Informed consent"]
    expected = []
    for n in range(1, 15):
        if n == 3:
            lines.append("Age")
        if n == 8:
            lines.append("Reproductive status")
        lines.append(f"{n} Capable of meeting condition {n}: the participant {TOPICS[n % len(TOPICS)]} and takes")
        # Wrapped lines that begin with a number (doses, durations, a page-like number) are text, not items.
        lines.append(f"{n * 10} mg of the study drug for")
        lines.append("3 months without interruption.")
        expected.append(str(n))
    lines += ["6.2 Exclusion Criteria", "1 Any history of seizures.", "2 Known kidney disease.", "7 ANALYSIS"]
    protocol = _protocol("\n".join(lines))
    assert _top(protocol) == expected
    assert _top(protocol, CriterionKind.EXCLUSION) == ["1", "2"]
    fourth = next(c for c in protocol.criteria if c.label == "4" and c.kind == CriterionKind.INCLUSION)
    assert "40 mg of the study drug" in fourth.text and "3 months" in fourth.text
    _assert_verbatim(protocol)


def test_a_bare_number_that_breaks_the_sequence_is_text():
    items = _items("1 Adults over the age of\n18 Years and able to consent.\n2 Signed consent.\n")
    assert [i.label for i in items] == ["1", "2"]


def test_letter_i_and_roman_numerals_are_told_apart_by_the_sequence():
    letters = "abcdefghij"
    lines = ["1. Laboratory values within these limits:"]
    lines += [f"{ch}. test {ch} is within the reference range" for ch in letters]
    lines += ["2. No prior treatment with any of:", "(i) agent one", "(ii) agent two", "(iii) agent three",
              "(iv) agent four", "(v) agent five", "3. Last item."]
    items = _items("\n".join(lines) + "\n")
    labels = [i.label for i in items]
    assert [f"1({ch})" for ch in letters] == [lb for lb in labels if lb.startswith("1(")]
    assert [lb for lb in labels if lb.startswith("2(")] == ["2(i)", "2(ii)", "2(iii)", "2(iv)", "2(v)"]
    assert [i.label for i in items if i.parent is None] == ["1", "2", "3"]
    lone = _items("1. Organ function:\ni. kidney\nii. liver\n")
    assert [i.label for i in lone] == ["1", "1(i)", "1(ii)"] and lone[1].style.startswith("roman")


def test_bullets_of_any_glyph_get_positions_marked_as_assigned():
    # A private-use Symbol glyph the normalizer does not map, and "!" where a text layer lost the bullet.
    for glyph in ("\uf0d2", "!", "\u27a2", "o"):
        items = _items(f"{glyph} Adults with moderate asthma\n{glyph} Able to use an inhaler\nwhen shown how.\n"
                       f"{glyph} Non-smokers\n")
        assert [i.label for i in items] == ["•1", "•2", "•3"]
        assert all(i.assigned for i in items)
    # An "x" a text layer left for one Wingdings bullet continues the open bullet list; elsewhere it is text.
    stand_in = _items("• Adults.\nx A parent has consented.\n• Non-smokers, with ALT below 3\n"
                      "x ULN at screening.\n")
    assert [i.label for i in stand_in] == ["•1", "•2", "•3"]
    assert stand_in[2].lines[-1].text == "x ULN at screening."
    assert [i.label for i in _items("1. Adults.\nx A parent has consented.\n")] == ["1"]
    # A second glyph under a bullet is a level below it.
    nested = _items("\uf0d2 Adults with one of:\n- asthma\n- bronchitis\n\uf0d2 Non-smokers\n")
    assert [i.label for i in nested] == ["•1", "•1•1", "•1•2", "•2"]
    numbered = _items("1. First item.\n2. Second item.\n")
    assert not any(i.assigned for i in numbered)


def test_category_headings_with_lettered_criteria_are_read_as_categories_and_criteria():
    text = "\n".join([
        "3 SELECTION OF PATIENTS",
        "3.1 Inclusion Criteria",
        "1. Target Population",
        "a) Men and women aged 18 to 75 years",
        "b) Confirmed diagnosis of moderate disease",
        "2. Medical History",
        "a) No heart attack in the last 6 months",
        "b) Normal kidney function",
        "c) Signed informed consent",
        "3.2 Exclusion Criteria",
        "1. Prior Treatment",
        "a) Any biologic therapy in the last 12 weeks",
        "4 STUDY TREATMENT",
        "Tablets are taken daily.",
    ])
    protocol = _protocol(text)
    assert _top(protocol) == ["1", "2"]
    inclusion = [c.label for c in protocol.criteria if c.kind == CriterionKind.INCLUSION and c.parent_label]
    assert inclusion == ["1(a)", "1(b)", "2(a)", "2(b)", "2(c)"]
    assert [c.label for c in protocol.criteria if c.kind == CriterionKind.EXCLUSION] == ["1", "1(a)"]
    assert not any("Tablets" in c.text for c in protocol.criteria)


def test_numbering_that_continues_from_inclusion_into_exclusion():
    inclusion = "\n".join(f"{n}. Criterion {n} holds." for n in range(1, 9))
    exclusion = "\n".join(f"{n}. Condition {n} is present." for n in range(9, 21))
    protocol = _protocol(f"5.1 Inclusion Criteria\n{inclusion}\n5.2 Exclusion Criteria\n{exclusion}\n6 DOSING\nx.")
    assert _top(protocol) == [str(n) for n in range(1, 9)]
    assert _top(protocol, CriterionKind.EXCLUSION) == [str(n) for n in range(9, 21)]


def test_jumps_repeats_and_restarts_are_said_and_nothing_is_dropped():
    text = "\n".join([
        "1. One.", "2. Two.", "3. Three.", "5. Five, four is missing.", "5. Five again.",
        "Sub-study participants", "1. Restarted one.", "2. Restarted two.",
    ])
    items = _items(text + "\n")
    assert [i.label for i in items] == ["1", "2", "3", "5", "5", "1", "2"]
    problems = [p for i in items for p in i.problems]
    assert any("jumps 3 -> 5" in p for p in problems)
    assert any("5 appears twice" in p for p in problems)
    assert any("restarts at 1 after 5" in p for p in problems)
    assert not items[0].problems and not items[1].problems


def test_a_marker_that_continues_no_list_stays_as_text_with_a_problem():
    items = _items("1. Adequate function, as in:\n(a) kidney.\n(b) liver.\n7) See the table below.\n2. Done.\n")
    assert [i.label for i in items] == ["1", "1(a)", "1(b)", "2"]
    liver = items[2]
    assert "7) See the table below." in [line.text for line in liver.lines]
    assert any("7" in p and "continues no list" in p for p in liver.problems)
    # A number that a line wrap put at the start of a line is plain text, not worth a problem.
    wrapped = _items("1. Enrolled up to 10 months after Visit 5 (month\n6) of the core study.\n2. Done.\n")
    assert [i.label for i in wrapped] == ["1", "2"] and not any(i.problems for i in wrapped)


def test_criteria_split_across_pages_join_and_leave_page_furniture_out():
    page_one = "\n".join([
        "1. First criterion that is short.",
        "2. Second criterion that runs over",
        "Sponsor XR-22 CONFIDENTIAL draft stamp",
        "Page 3",
    ])
    page_two = "\n".join([
        "Sponsor XR-22 CONFIDENTIAL draft stamp",
        "the page break and ends here.",
        "3. Third criterion.",
        "Sponsor XR-22 CONFIDENTIAL draft stamp",
    ])
    text = page_one + "\n" + page_two + "\n" + "4. Fourth criterion on page three.\n"
    starts = [0, len(page_one) + 1, len(page_one) + len(page_two) + 2]
    lines = split_lines(text, starts, [1, 2, 3])
    items = split_items(lines, 0)
    assert [i.label for i in items] == ["1", "2", "3", "4"]
    second, third = items[1], items[2]
    own = " ".join(line.text for line in second.lines)
    assert own == "2. Second criterion that runs over the page break and ends here."
    assert [text[s:e] for s, e in second.excluded] == [
        "Sponsor XR-22 CONFIDENTIAL draft stamp", "Page 3", "Sponsor XR-22 CONFIDENTIAL draft stamp"
    ]
    # The criterion ends before a stamp that follows it: its text quotes the criterion only.
    assert text[third.start : third.end] == "3. Third criterion."


@pytest.mark.parametrize(
    ("line", "printed", "family"),
    [("I 01. Patients with RA", "I 01", "code"), ("E12 Known allergy", "E12", "code"), ("[3a] sub", "3a", "num_sub"),
     ("(iv) agent", "iv", "roman"), ("B) second", "B", "upper"), ("\u27a2 arrow bullet", "\u27a2", "bullet")],
)
def test_markers_read_as_printed(line, printed, family):
    marker = read_marker(line)
    assert marker is not None and (marker.printed, marker.family) == (printed, family)


@pytest.mark.parametrize("line", ["1.5 x ULN or more", "Page 12", "ALT at most 3 times", "(see Table 2)"])
def test_text_is_not_a_marker(line):
    assert read_marker(line) is None


def test_numbering_problems_reach_the_protocol():
    text = "5.1 Inclusion Criteria\n1. Adults.\n2. Consent.\n4. Non-smokers.\n5.2 Exclusion Criteria\n1. Pregnancy.\n"
    protocol = _protocol(text)
    assert _top(protocol) == ["1", "2", "4"]
    assert [p for p in protocol.problems if "numbering" in p] == ["inclusion numbering jumps 2 -> 4 (page 1)"]


def test_title_case_items_are_items_even_past_the_chapter_number_but_the_next_chapter_ends_the_list():
    titles = ["Adequate Organ Function", "Signed Informed Consent", "Negative Pregnancy Test", "Stable Disease"]
    items = [f"{n}. {titles[n % 4]}" for n in range(1, 13)]
    text = "\n".join(["5 STUDY POPULATION", "5.1 Inclusion Criteria", *items, "5.2 Exclusion Criteria",
                      "1. Pregnancy.", "2. Active Infection", "3. Known Allergy", "6 Study Treatment",
                      "6.1 Dosing", "Tablets are taken daily."])
    protocol = _protocol(text)
    assert _top(protocol) == [str(n) for n in range(1, 13)]
    assert _top(protocol, CriterionKind.EXCLUSION) == ["1", "2", "3"]
    assert not any("Tablets" in c.text or "Study Treatment" in c.text for c in protocol.criteria)


def test_a_title_like_line_inside_the_list_does_not_end_it_when_the_numbering_goes_on():
    text = "\n".join([
        "4.1 Inclusion Criteria", "1. Adults.", "2. Infants born at term.", "Note: Rounding to the cl",
        "osest week is allowed.", "ACME CONFIDENTIAL", "3. Signed consent.", "4. Weight over 3 kg.",
        "Rationale for the Criteria", "These criteria keep infants safe.", "4.2 Exclusion Criteria", "1. Allergy.",
    ])
    protocol = _protocol(text)
    assert _top(protocol) == ["1", "2", "3", "4"]
    assert not any("keep infants safe" in c.text for c in protocol.criteria)


def test_a_bullet_item_broken_mid_word_is_not_taken_for_a_sub_heading():
    text = "\n".join([
        "4.1 Inclusion Criteria", "• Adults.", "• Receiving the drug alone.", "Patients who were being tre",
        "ated with a combination are eligible.", "• Signed consent.", "4.2 Exclusion Criteria", "• Allergy.",
    ])
    protocol = _protocol(text)
    assert _top(protocol) == ["•1", "•2", "•3"]
    assert "ated with a combination" in protocol.criteria[1].text


def test_a_lone_number_past_one_does_not_open_a_list():
    items = _items("The last scan is done on month\n54. The follow-up is yearly until month 60.\n")
    assert items == []
    assert [i.label for i in _items("9. Pregnant.\n10. Breastfeeding.\n")] == ["9", "10"]
