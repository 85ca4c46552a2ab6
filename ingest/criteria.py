"""Splitting a criteria section into its individual criteria, keeping the protocol's own labels.

Markers ("1." "1)" "(1)" "[1]", bare "1" in sequence, "1a", "[3a]", "(a)" "a)" "A.", "(iv)" "i.", "E7" "IN-3",
bullets of any glyph) and their sequence are read by ingest.enumeration: the first style met is the top level; a
new style starting its sequence opens a sub-level under the current item; the next ordinal of an open style is a
sibling there (deeper levels close); restarts, repeats and jumps are kept and said in `Item.problems`.
Unlabelled lines continue the current item, so wrapped lines and page breaks are joined. A short unnumbered line
that groups the next items ("Medical Conditions", "Group 2:") closes the current item without joining it. A
lead-in that ends with ":" just before a new top-level item ("In addition, the following is considered a
criterion for ... research:") is not part of the item before it. Unnumbered bullets get positions (•1, •2, ...)
flagged `Item.assigned`. Sections without any label are split into paragraphs labelled p1, p2, ...

Citations stay verbatim: an item is one span [start, end) of the protocol text. A running header, footer or
stamp left at a page break inside a criterion is kept out of `Item.lines` and its span listed in
`Item.excluded`; one after the criterion's last line ends the criterion before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from collections.abc import Callable

from ingest.enumeration import STAND_IN_GLYPHS, Level, Marker, Placement, place, read_marker, style_of
from ingest.lines import Line, previous_text
from ingest.sections import looks_like_subheading

# Notes and footnotes under a list ("Note: ...", "* ULN = upper limit of normal", "Abbreviations: ...") are
# context the criteria refer to, not part of the last criterion.
_NOTE = re.compile(r"^(?:Notes?\s*:|NOTES?\s*:|Footnotes?\s*:|Abbreviations?\s*:|[*†‡§¶]+\S|[¹²³⁴⁵ᵃᵇᶜᵈ]\s)")
# The next row of a two-column summary table whose cell held the criteria: "Study duration The enrollment ...".
_TABLE_ROW = re.compile(r"^[A-Z][a-z]+(?: [a-z]+){0,2} (?:The|This|These|All|Patients|Subjects|Participants) [a-z]")
_CONFIRM_WINDOW = 80  # lines searched ahead for the next bare number of a sequence (items run to many lines)


@dataclass(slots=True)
class Item:
    label: str
    style: str
    number: int | None  # the ordinal a numbered label carries, to tell a restart from a continuation
    lines: list[Line]
    start: int  # offset of the label in Protocol.text
    depth: int
    parent: Item | None = None
    children: list[Item] = field(default_factory=list)
    end: int = 0
    printed: str = ""  # the marker as printed, frame removed ("12", "b", "iv", "•")
    assigned: bool = False  # the label is a position the parser gave (unnumbered bullets), not printed
    problems: list[str] = field(default_factory=list)  # what did not read cleanly here, said to the user
    excluded: list[tuple[int, int]] = field(default_factory=list)  # page furniture inside [start, end)


def starts_item(text: str) -> bool:
    """Whether `text` starts with something that may be a list marker (the sequence decides in split_items).

    A bare number counts only before a capitalised word ("1 Capable of ..."), so "3 groups of 50" does not.
    """
    marker = read_marker(text)
    if marker is None or marker.frame in STAND_IN_GLYPHS:
        return False  # a stand-in "x" is a bullet only inside an open bullet list
    following = text[marker.length : marker.length + 1]
    if marker.family == "dotted":  # "2.5 mg/dL" wrapped to a line start is not an item; "4.1.4 [Deleted]" is
        return following.isupper() or following == "["
    if marker.bare:
        return following.isupper()
    return True


def continues_list(lines: list[Line], body_start: int, index: int, section_number: str | None) -> bool:
    """Whether `lines[index]`, which also reads as a numbered heading ("2. Positive for", "1. Target Population"),
    is the next item of the list in the criteria section whose body starts at `lines[body_start]`.

    Relies on: the list's items so far carry the same number style (digits and frame) and the line's number is
    the next one; a "1" counts only as the section's first line. An UPPER CASE title is a chapter. The number
    after the section's own chapter ("5 ..." under "4.2 Exclusion criteria") counts only when the list goes on
    after it (a "6" of the same style follows before any decimal heading "5.1").
    """
    line = lines[index]
    marker = read_marker(line.text)
    if marker is None or marker.family != "num" or marker.ordinal is None:
        return False
    if line.text[marker.length :].strip().isupper():
        return False
    body = lines[body_start:index]
    previous = next(
        (seen for ln in reversed(body) if (seen := read_marker(ln.text)) is not None
         and seen.family == "num" and seen.frame == marker.frame),
        None,
    )
    if previous is None:
        # The list's first item: "1" before any text of the section ("1. Target Population" under "3.1 ...").
        return marker.ordinal == 1 and not any(ln.text.strip() for ln in body)
    if previous.ordinal != marker.ordinal - 1:
        return False
    chapter = section_number.split(".")[0] if section_number else None
    if chapter and chapter.isdigit() and marker.ordinal == int(chapter) + 1:
        for later in lines[index + 1 : index + 1 + _CONFIRM_WINDOW]:
            if re.match(rf"{marker.ordinal}\.\d", later.text):
                return False  # "5.1 ..." follows: "5" opened a chapter
            seen = read_marker(later.text)
            if seen is not None and seen.family == "num" and seen.frame == marker.frame:
                return seen.ordinal == marker.ordinal + 1
        return False
    return True


_CHILD_NUMBER = re.compile(r"^(?P<number>\d{1,2}(?:\.\d{1,3}){1,5})\.?\s+(?P<title>\S.*)$")
_SENTENCE_WORDS = 9  # a title of more words than this is a sentence, whatever its capitals


def numbered_child_items(lines: list[Line], parent_index: int, index: int, parent_number: str | None) -> bool:
    """Whether `lines[index]`, which reads as a sub-section heading ("4.1.3 Known history of ...") under the
    criteria heading numbered `parent_number` ("4.1 Inclusion Criteria", at `lines[parent_index]`), is a
    criterion numbered like a sub-section.

    Relies on: such criteria are the direct children of the heading's number (one more part), numbered from 1 in
    steps of one; the run (from the heading to the next heading that is not such a child) has two members at
    least; and most of its members read as sentences, not titles: not Title Case, or more than a title's words,
    or wrapped onto a next line that starts in lower case. Real sub-sections ("5.1.1 Part A", "5.1.2 Part B")
    are short Title Case titles.
    """
    if not parent_number:
        return False
    run: list[tuple[int, str, int]] = []  # (child ordinal, title, line index)
    for k in range(parent_index + 1, len(lines)):
        match = _CHILD_NUMBER.match(lines[k].text.strip())
        if match is None:
            continue
        number = match["number"]
        head, _, last = number.rpartition(".")
        if head == parent_number:
            expected = run[-1][0] + 1 if run else 1
            if int(last) != expected:
                break  # the sequence broke: what follows is not this run
            run.append((int(last), match["title"], k))
            continue
        if number.startswith(parent_number + "."):
            continue  # a deeper number ("4.1.3.1") inside a child: not a sibling, not an end
        if numbered_heading_like(match["title"]):
            break  # "4.2 Exclusion Criteria", "5 Treatment": the run is over
    if len(run) < 2 or index not in {k for _, _, k in run}:
        return False

    def sentence(title: str, k: int) -> bool:
        words = title.split()
        following = next((ln.text.strip() for ln in lines[k + 1 :] if ln.text.strip()), "")
        return (len(words) > _SENTENCE_WORDS or not _title_cased(words) or title.rstrip().endswith((".", ";"))
                or following[:1].islower())

    return 2 * sum(sentence(title, k) for _, title, k in run) > len(run)


def numbered_heading_like(title: str) -> bool:
    """A numbered line's text that could be a heading: it starts with a capital letter."""
    return title[:1].isupper()


def _title_cased(words: list[str]) -> bool:
    long_words = [w for w in words if len(w) >= 4 and w[0].isalpha()]
    return not long_words or all(w[0].isupper() for w in long_words)


def list_goes_on(lines: list[Line], k: int) -> bool:
    """Whether the numbered list above `lines[k]` goes on after it: the next marker of the list's style (that of
    the first numbered item in `lines`) carries the next number. A title-like line there ("PFIZER
    CONFIDENTIAL", a sentence broken mid-word such as "Note: Rounding to the cl") is inside the list, not the
    end of the section.

    A title-like line whose next line starts in lower case is a sentence broken across lines ("Patients who
    were being tre" / "ated with ..."): the item goes on through it, whatever the list's style.

    Relies on: numbered items step by one; a bullet list, with no numbers, goes on only through a broken sentence.
    """
    following = next((ln.text.strip() for ln in lines[k + 1 :] if ln.text.strip()), "")
    if following[:1].islower():
        return True
    first = next((m for ln in lines[:k] if (m := read_marker(ln.text)) is not None and m.ordinal is not None
                  and m.family != "num_sub" and not m.bare), None)
    if first is None:
        return False
    last = next(m for ln in reversed(lines[:k]) if (m := read_marker(ln.text)) is not None and m.style == first.style)
    for later in lines[k + 1 : k + 1 + _CONFIRM_WINDOW]:
        seen = read_marker(later.text)
        if seen is not None and seen.style == first.style:
            return last.ordinal is not None and seen.ordinal == last.ordinal + 1
    return False


def _levels(chain: list[Item]) -> list[Level]:
    return [Level(item.style, item.number, item.printed or item.label) for item in chain]


def _last_chain(roots: list[Item]) -> list[Item]:
    """The last item at each depth: the levels still open after a group title interrupted the list."""
    chain: list[Item] = []
    level = [item for item in roots if item.style != "context"]  # a note under the list closes no level
    while level:
        chain.append(level[-1])
        level = level[-1].children
    return chain


def split_items(lines: list[Line], body_start: int) -> list[Item]:
    """All items of a section body, in order, each with its parent; lines before the first item are dropped.

    Markers are read by ingest.enumeration (what a line start could be, and whether it continues a sequence).
    Relies on: an unlabelled line continues the current item (wrapped lines, page breaks); a short unnumbered
    title line just before an item groups the items below it (a sub-heading) and ends the item above; lines at a
    page break that recur at other page breaks of the section, or read as a page number, are page furniture.
    """
    roots: list[Item] = []
    stack: list[Item] = []
    bullet_counts: dict[int, int] = {}
    texts = [line.text[max(line.start, body_start) - line.start :] for line in lines]
    markers = [read_marker(text) for text in texts]
    furniture = page_furniture(lines)
    after_title = False  # a sub-heading just closed the item above

    def confirms(k: int) -> Callable[[str, int], bool]:
        def check(style: str, ordinal: int) -> bool:
            for j in range(k + 1, min(len(lines), k + 1 + _CONFIRM_WINDOW)):
                marker = markers[j]
                if marker is not None and any(
                    style_of(family, marker.frame) == style and value == ordinal
                    for family, value in marker.readings()
                ):
                    return True
            return False

        return check

    for k, line in enumerate(lines):
        offset = max(line.start, body_start)
        text = texts[k]
        if line.index in furniture:
            if stack:
                stack[-1].excluded.append((line.start, line.end))
            continue
        marker = markers[k]
        if marker is None and stack and _NOTE.match(text):
            note = Item(f"note{sum(1 for r in roots if r.style == 'context') + 1}", "context", None, [line], offset, 0)
            roots.append(note)
            stack = [note]
            continue
        placement = None
        if marker is not None:
            chain = stack if stack and stack[0].style != "context" else _last_chain(roots)
            if marker.family == "num_sub":
                placement = _place_sub(marker, chain)
            if placement is None:
                placement = place(marker, _levels(chain), confirms(k))
            if after_title and placement is not None and placement.depth == len(chain):
                # After a group title a new style does not nest under the item above the title: a new list.
                placement = place(marker, [], confirms(k))
            # Said only where the line reads like an item that starts a sentence; a wrapped "(month\n6) of the
            # study" or "x ULN" is ordinary text.
            if placement is None and not marker.bare and stack and marker.family != "bullet" and \
                    text[marker.length : marker.length + 1].isupper() and \
                    previous_text(lines, k).endswith((".", ";", ":")):
                stack[-1].problems.append(
                    f"line {text[:40]!r} (page {line.page}) reads like item {marker.printed} but continues no list; "
                    f"kept as text of {stack[-1].label}"
                )
        if placement is None:
            if not text.strip():
                continue
            if stack and _TABLE_ROW.match(text) and previous_text(lines, k).endswith("."):
                break  # the criteria cell of a summary table ended; the rest is the table's next row
            if stack and _group_title(lines, k) and k + 1 < len(lines) and starts_item(texts[k + 1]):
                stack = []  # a group title: the item above ends here, the next item starts a new one
                after_title = True
                continue
            if stack:
                stack[-1].lines.append(line)
            continue
        after_title = False
        chain = stack if stack and stack[0].style != "context" else _last_chain(roots)
        stack = chain[: placement.depth]
        if not stack and roots:
            _trim_lead_in(roots[-1])
        parent = stack[-1] if stack else None
        assigned = placement.style.startswith("bullet")
        if assigned:
            key = id(parent) if parent else -1
            bullet_counts[key] = bullet_counts.get(key, 0) + 1
            label = f"{parent.label}•{bullet_counts[key]}" if parent else f"•{bullet_counts[key]}"
        elif parent is not None and marker.family not in ("num_sub", "dotted"):  # "4.1.3" is cited as printed
            label = f"{parent.label}({marker.printed})"
        elif marker.frame == "()":
            label = f"({marker.printed})"  # "(a)" at the top level keeps its parentheses: users cite it so
        else:
            label = marker.printed
        item = Item(label, placement.style, placement.ordinal, [line], offset, len(stack), parent,
                    printed=marker.printed, assigned=assigned)
        if placement.problem:
            item.problems.append(f"{placement.problem} (page {line.page})")
        (parent.children if parent else roots).append(item)
        stack.append(item)
    for item in _walk(roots):
        item.end = item.lines[-1].end if item.lines else item.start
    for item in _walk(roots):  # a parent's text runs to the end of its last descendant
        if item.children:
            item.end = max(item.end, max(child.end for child in _walk(item.children)))
        item.excluded = [span for span in item.excluded if span[1] <= item.end]
    return list(_walk(roots))


_RUN_IN_GROUP = re.compile(r"^[A-Z][^.;:]{0,50}:$")  # "Group 2:", "Medical conditions:"


def _group_title(lines: list[Line], k: int) -> bool:
    """A sub-heading inside a list: a short unnumbered title ("Medical Conditions", or "Group 2:" with a colon)
    after an item that ended its sentence. Relies on: a lead-in of a criterion's own sub-items follows words of
    that criterion that have not ended a sentence ("... any of the following:")."""
    if looks_like_subheading(lines, k):
        return True
    text = lines[k].text.strip()
    return bool(_RUN_IN_GROUP.match(text)) and len(text.split()) <= 6 and previous_text(lines, k).endswith(
        (".", ";", ")")
    )


def _place_sub(marker: Marker, chain: list[Item]) -> Placement | None:
    """"3a" / "[3b]" under the open item numbered 3: its letter runs in sequence under that parent."""
    number = marker.printed[:-1]
    for depth in range(len(chain) - 1, -1, -1):
        item = chain[depth]
        if item.style.startswith("num") and item.style != marker.style and item.printed == number:
            siblings = [child for child in item.children if child.style == marker.style]
            problem = None
            if siblings and siblings[-1].number is not None and marker.ordinal != siblings[-1].number + 1:
                problem = f"sub-items of {number} jump {siblings[-1].printed} -> {marker.printed}"
            return Placement(marker.family, marker.style, marker.ordinal, depth + 1, problem)
    return None


_PAGE_NUMBER = re.compile(r"^(?:page\s*)?[-–]?\s*\d{1,4}\s*[-–]?(?:\s*(?:of|/)\s*\d{1,4})?$", re.IGNORECASE)
_FURNITURE_REACH = 3  # non-blank lines on each side of a page break that may be header or footer


def page_furniture(lines: list[Line]) -> set[int]:
    """Indexes of running headers, footers and stamps left inside a section (not removed at the page edges).

    Relies on: such lines sit within a few lines of a page break, and either read as a page number ("Page 12
    of 80", "- 12 -") or recur, numbers aside, at another page break of the same section (a header, an approval
    stamp). A line that recurs in the middle of a page is not taken.
    """
    near_break: list[Line] = []
    for k, line in enumerate(lines):
        if not line.text.strip():
            continue
        before = [ln for ln in lines[max(0, k - 6) : k] if ln.text.strip()][-_FURNITURE_REACH:]
        after = [ln for ln in lines[k + 1 : k + 7] if ln.text.strip()][:_FURNITURE_REACH]
        if any(ln.page != line.page for ln in before + after):
            near_break.append(line)
    if not near_break:
        return set()
    keys: dict[str, set[int]] = {}
    for line in near_break:
        keys.setdefault(_furniture_key(line.text), set()).add(line.page)
    found: set[int] = set()
    for line in near_break:
        text = line.text.strip()
        key = _furniture_key(text)
        letters = sum(ch.isalpha() for ch in key)
        # Six letters at least: a recurring "AND" / "OR" between criteria is the list's own word, not a header.
        if _PAGE_NUMBER.match(text) or (len(keys[key]) >= 2 and letters >= 6 and not starts_item(text)):
            found.add(line.index)
    return found


def _furniture_key(text: str) -> str:
    return re.sub(r"\d+", "#", text.strip().lower())


def _find_open_level(roots: list[Item], style: str) -> list[Item]:
    """The chain of last items down to the level whose style is `style` (exclusive)."""
    chain: list[Item] = []
    level = roots
    while level:
        last = level[-1]
        if last.style == style:
            return chain
        chain.append(last)
        level = last.children
    return []


def _trim_lead_in(item: Item) -> None:
    """Drop a trailing "...the following are considered criteria for ...:" paragraph from the previous item."""
    last = item
    while last.children:
        last = last.children[-1]
    own = last.lines
    if len(own) < 2 or not own[-1].text.rstrip().endswith(":"):
        return
    k = len(own) - 1
    while k > 0 and not own[k - 1].text.rstrip().endswith((".", ";")):
        k -= 1
    if k > 0:
        del own[k:]


def _walk(items: list[Item]):
    for item in items:
        yield item
        yield from _walk(item.children)


_RUN_IN_TITLE = re.compile(r"^[A-Z][^.;:]{0,60}:$")  # "Recruitment of participants:" starts another topic


_PLEASE_NOTE = re.compile(r"^(?:Please\s+)?[Nn]otes?\s*:")
_SHORT_LINE = 0.9  # a line under this share of the column's wrap width ends its text (a list item's last line)
# A line ending in an article or preposition runs on into the next, whatever its length or the next word's case.
_LINKING_END = re.compile(r"\b(?:the|a|an|of|to|for|with|by|in|on|at|from|and|or|than)$|[-–(/]$", re.IGNORECASE)
# "..., and" / "...; or" at a line end closes an item of a list joined by a conjunction.
_LIST_CONJUNCTION = re.compile(r"[,;]\s*(?:and|or)$")


def _wrap_width(texts: list[str]) -> int:
    """The column's width as wrapped lines show it: the median length of lines whose next line starts in lower
    case (a sentence broken by the layout). 0 when no line is seen wrapping (no short-line splitting then)."""
    wrapped = sorted(
        len(text) for text, following in zip(texts, texts[1:]) if text and following[:1].islower()
    )
    return wrapped[len(wrapped) // 2] if len(wrapped) >= 2 else 0


def split_paragraphs(lines: list[Line], body_start: int) -> list[Item]:
    """Unlabelled criteria: a paragraph starts after a line that ends a sentence (or after a blank line).

    A one-line lead-in ending with ":" before the first paragraph is not a criterion; a short run-in title
    ("Possible harms:") or a note ("Please note: ...") after them ends the list.

    A list whose bullet glyphs the text layer lost reads as lines with no marker and often no final stop. There an
    item also starts at a capitalised line after a short line: wrapped lines fill the width of the text column,
    an item's last line usually does not. Relies on: the section's longest lines are full-width wrapped lines
    (at least three lines, one wrapped); a line ending a criterion stops well short of that width
    (`_SHORT_LINE` of the median wrapped line, two wrapped lines at least) or ends "..., and"; a line ending in
    an article or preposition runs on. Word wrap's own rule says the same: a break where the next line's first
    word would have fitted on the line (the column width being the longest wrapped line) is the author's.
    The labels are positions, marked assigned: p1, p2, ... for paragraphs of prose; •1, •2, ... (as for an
    unnumbered bullet list) where a short line, not a sentence's end, split them.
    """
    items: list[Item] = []
    current: Item | None = None
    previous_ended = True
    previous_short = False
    lost_bullets = False  # an item started after a short line that ended no sentence: a list, not prose
    texts = [ln.text[max(ln.start, body_start) - ln.start :].strip() for ln in lines]
    full_width = _wrap_width(texts)
    column = max((len(t) for t, nxt in zip(texts, texts[1:]) if t and nxt[:1].islower()), default=0)
    previous_text_ = ""
    for line in lines:
        offset = max(line.start, body_start)
        text = line.text[offset - line.start :]
        if not text.strip():
            previous_ended = True
            continue
        stripped = text.strip()
        # Word wrap breaks a line only when the next word does not fit: where it would have fit on the line
        # above, the break was the author's (an item's end).
        if previous_text_ and full_width and not _LINKING_END.search(previous_text_) and \
                len(previous_text_) + 1 + len(stripped.split()[0]) <= column:
            previous_short = True
        previous_text_ = stripped
        if items and _PLEASE_NOTE.match(stripped):
            break  # a note under the list is context, not a criterion
        if previous_ended and stripped.endswith(":") and (not items or (
            _RUN_IN_TITLE.match(stripped) and len(stripped.split()) <= 6
        )):
            if items:
                break
            continue
        if current is None or ((previous_ended or previous_short) and text[:1].isupper()):
            lost_bullets = lost_bullets or (current is not None and not previous_ended)
            current = Item(f"p{len(items) + 1}", "paragraph", None, [line], offset, 0, assigned=True)
            items.append(current)
        else:
            current.lines.append(line)
        previous_ended = text.rstrip().endswith((".", ";", ":"))
        previous_short = bool(full_width) and (bool(_LIST_CONJUNCTION.search(stripped)) or (
            not _LINKING_END.search(stripped) and len(stripped) < _SHORT_LINE * full_width
        ))
    for k, item in enumerate(items, 1):
        item.end = item.lines[-1].end
        if lost_bullets:  # the positions of a bullet list whose glyphs were lost, labelled as bullets are
            item.label, item.style = f"•{k}", "bullet"
    return items
