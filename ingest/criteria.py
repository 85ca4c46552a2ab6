"""Splitting a criteria section into its individual criteria, keeping the protocol's own labels.

Labels recognised at the start of a line: "1." "1)" "1a." "[3]" "[3a]" "(a)" "(iv)" "a)" "i." "E7" "IN-3"
and bullets (• ▪ ◦ * - – o). The first label style met in a section is the top level; a new style opens a
sub-level under the current item; a style already open closes the deeper levels (a sibling). Unlabelled lines
continue the current item, so wrapped lines and page breaks are joined. A short unnumbered line that groups the
next items ("Medical Conditions") closes the current item without joining it. A lead-in that ends with ":" just
before a new top-level item ("In addition, the following is considered a criterion for ... research:") is not
part of the item before it. Sections without any label are split into paragraphs labelled p1, p2, ...
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.lines import Line, previous_text
from ingest.sections import looks_like_subheading

_LABEL = re.compile(
    r"""^(?:
      \[(?P<bracket>\d{1,3})(?P<bracket_sub>[a-z])?\]
     |(?P<num>\d{1,3})(?P<num_sub>[a-z])?[.)](?=\s|$)
     |(?P<num2>\d{1,3})(?P<num2_sub>[a-z])(?=\s)
     |(?P<code>(?:IN|EX|IC|EC|I|E)-?\d{1,3}[a-z]?)(?:[.:)]|(?=\s))
     |\((?P<paren>[a-z]{1,4}|\d{1,3})\)(?=\s)
     |(?P<letter>[a-z]|[ivx]{2,4})[.)](?=\s)
     |(?P<bullet>[•▪◦*\-–])(?=\s|$)
     |(?P<o_bullet>o)(?=\s+[A-Za-z])
    )[ ]?""",
    re.VERBOSE,
)
# Notes and footnotes under a list ("Note: ...", "* ULN = upper limit of normal", "Abbreviations: ...") are
# context the criteria refer to, not part of the last criterion.
_NOTE = re.compile(r"^(?:Notes?\s*:|NOTES?\s*:|Footnotes?\s*:|Abbreviations?\s*:|[*†‡§¶]+\S|[¹²³⁴⁵ᵃᵇᶜᵈ]\s)")
# The next row of a two-column summary table whose cell held the criteria: "Study duration The enrollment ...".
_TABLE_ROW = re.compile(r"^[A-Z][a-z]+(?: [a-z]+){0,2} (?:The|This|These|All|Patients|Subjects|Participants) [a-z]")
_ROMAN = re.compile(r"^(?:i{1,3}|iv|v|vi{0,3}|ix|x)$")


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


def starts_item(text: str) -> bool:
    return bool(_LABEL.match(text))


def _classify(match: re.Match[str], open_styles: list[str], last_letter: str | None) -> tuple[str, str, int | None]:
    """(label, style, ordinal) of a label match."""
    if match["bracket"]:
        if match["bracket_sub"]:
            return match["bracket"] + match["bracket_sub"], "bracket_sub", None
        return match["bracket"], "bracket", int(match["bracket"])
    if match["num2"]:  # "4a HbA1c ...": a sub-item label without punctuation
        return match["num2"] + match["num2_sub"], "num_sub", None
    if match["num"]:
        if match["num_sub"]:
            return match["num"] + match["num_sub"], "num_sub", None
        return match["num"], "num", int(match["num"])
    if match["code"]:
        digits = re.search(r"\d+", match["code"])
        return match["code"], "code", int(digits.group()) if digits else None
    if match["paren"]:
        value = match["paren"]
        if value.isdigit():
            return f"({value})", "paren_num", int(value)
        roman = _ROMAN.match(value) and ("paren_roman" in open_styles or value in ("i", "ii", "iii", "iv"))
        if value == "i" and last_letter == "h":
            roman = False
        return f"({value})", "paren_roman" if roman else "paren_letter", None
    if match["letter"]:
        value = match["letter"]
        if len(value) > 1 or (value in "ivx" and "roman" in open_styles):
            return value, "roman", None
        if value == "i" and last_letter != "h" and "letter" not in open_styles:
            return value, "roman", None
        return value, "letter", None
    glyph = match["bullet"] or match["o_bullet"]
    return glyph, f"bullet{glyph}", None


def split_items(lines: list[Line], body_start: int) -> list[Item]:
    """All items of a section body, in order, each with its parent; lines before the first item are dropped."""
    roots: list[Item] = []
    stack: list[Item] = []
    last_letter: str | None = None
    bullet_counts: dict[int, int] = {}

    def close_text(item: Item) -> None:
        item.end = item.lines[-1].end if item.lines else item.start

    for k, line in enumerate(lines):
        offset = max(line.start, body_start)
        text = line.text[offset - line.start :]
        match = _LABEL.match(text)
        if match is None and stack and _NOTE.match(text):
            note = Item(f"note{sum(1 for r in roots if r.style == 'context') + 1}", "context", None, [line], offset, 0)
            roots.append(note)
            stack = [note]
            continue
        if match is None:
            if not text.strip():
                continue
            if stack and _TABLE_ROW.match(text) and previous_text(lines, k).endswith("."):
                break  # the criteria cell of a summary table ended; the rest is the table's next row
            if stack and looks_like_subheading(lines, k) and k + 1 < len(lines) and starts_item(lines[k + 1].text):
                stack = []  # a group title: the item above ends here, the next item starts a new one
                continue
            if stack:
                stack[-1].lines.append(line)
            continue
        open_styles = [item.style for item in stack]
        label, style, ordinal = _classify(match, open_styles, last_letter)
        if style == "letter":
            last_letter = label
        sub_of = {"num_sub": "num", "bracket_sub": "bracket"}.get(style)
        if sub_of and sub_of in open_styles:
            while stack and stack[-1].style != sub_of:
                stack.pop()
        elif stack and stack[0].style == "context":
            stack = _find_open_level(roots[:-1], style) if roots[:-1] else []
        elif style in open_styles:
            while stack and stack[-1].style != style:
                stack.pop()
            stack.pop()
        elif not stack and roots and style != roots[0].style:
            # After a group title the stack is empty: resume the level this style had before.
            continue_level = _find_open_level(roots, style)
            stack = continue_level
        if not stack and roots and style == roots[0].style:
            _trim_lead_in(roots[-1])
        parent = stack[-1] if stack else None
        if style.startswith("bullet"):
            key = id(parent) if parent else -1
            bullet_counts[key] = bullet_counts.get(key, 0) + 1
            label = f"{parent.label}•{bullet_counts[key]}" if parent else f"•{bullet_counts[key]}"
        elif parent is not None and style in ("letter", "roman", "paren_letter", "paren_roman", "paren_num"):
            label = f"{parent.label}{label if label.startswith('(') else '(' + label + ')'}"
        item = Item(label, style, ordinal, [line], offset, len(stack), parent)
        (parent.children if parent else roots).append(item)
        stack.append(item)
    for item in _walk(roots):
        close_text(item)
    for item in _walk(roots):  # a parent's text runs to the end of its last descendant
        if item.children:
            item.end = max(item.end, max(child.end for child in _walk(item.children)))
    return list(_walk(roots))


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


def split_paragraphs(lines: list[Line], body_start: int) -> list[Item]:
    """Unlabelled criteria: a paragraph starts after a line that ends a sentence (or after a blank line).

    A one-line lead-in ending with ":" before the first paragraph is not a criterion; a short run-in title
    ("Possible harms:") after them ends the list.
    """
    items: list[Item] = []
    current: Item | None = None
    previous_ended = True
    for line in lines:
        offset = max(line.start, body_start)
        text = line.text[offset - line.start :]
        if not text.strip():
            previous_ended = True
            continue
        stripped = text.strip()
        if previous_ended and stripped.endswith(":") and (not items or (
            _RUN_IN_TITLE.match(stripped) and len(stripped.split()) <= 6
        )):
            if items:
                break
            continue
        if current is None or (previous_ended and text[:1].isupper()):
            current = Item(f"p{len(items) + 1}", "paragraph", None, [line], offset, 0)
            items.append(current)
        else:
            current.lines.append(line)
        previous_ended = text.rstrip().endswith((".", ";", ":"))
    for item in items:
        item.end = item.lines[-1].end
    return items
