"""CDISC SDTM TI (trial inclusion/exclusion criteria: IETESTCD, IETEST, IECAT) -> a Protocol to screen against.

TI carries only the criterion sentences, so the Protocol is one page with one line per criterion. Numeric rules
come from ingest.rules.extract_rules. Sentences that judge against "the reference range" without a number are read
by the small phrase table below: "above/below/outside (the) reference range for X" becomes a rule on a multiple
1 × ULN/LLN of the lab's own range. A criterion that names an *external* range ("Lilly Reference Range III") gets
no rule: the range is not in the data, so screening says INDETERMINATE with that reason unless it is supplied.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pandas as pd

import labs
from ingest.models import Comparator, Criterion, CriterionKind, LabRule, Page, Protocol, Section
from ingest.patients.schema import read_text_table, require_columns
from ingest.rules import extract_rules
from labs.errors import DocumentError

TI_SCHEMA = "IETESTCD, IETEST, IECAT (INCLUSION/EXCLUSION) (required); STUDYID, TIVERS (optional)"
_KINDS = {"INCLUSION": CriterionKind.INCLUSION, "EXCLUSION": CriterionKind.EXCLUSION}

# A named range that is not the lab's own: "Lilly Reference Range III", "Sponsor reference range B".
EXTERNAL_RANGE = re.compile(r"\b((?:[A-Z][\w-]*\s+){1,3}Reference\s+Range(?:\s+[IVX\d]+)?)\b")
# "above reference range for X, and Y", "below the reference range for X", "outside reference range for X"
RANGE_PHRASE = re.compile(
    r"\b(?P<where>above|below|outside|exceeding)\s+(?:the\s+)?(?:normal\s+)?reference\s+range\s+for\s+"
    r"(?P<what>[^.;]+?)(?=(?:,?\s+and\s+(?:above|below|outside))|[.;]|$)",
    re.IGNORECASE,
)
ONLY_FOR = re.compile(r"\((?P<who>[^()]+?)\s+(?:patients|participants|subjects)\s+only\)", re.IGNORECASE)
_SPLIT = re.compile(r",|;|:|\band\b|\bor\b|\(|\)", re.IGNORECASE)
# Group names criteria use for several analytes; members that the catalog lacks are skipped.
GROUP_NAMES = {"thyroid function tests": ["TSH", "free T4"], "thyroid function": ["TSH", "free T4"],
               "liver function tests": ["ALT", "AST", "total bilirubin"]}


def mentioned_analytes(text: str) -> list[str]:
    """Catalog codes of the analytes a sentence names (each comma/and/or-separated piece looked up)."""
    codes: list[str] = []
    for piece in _SPLIT.split(text):
        piece = piece.strip(" .")
        if not piece or piece.lower() in ("etc", "any of the following analytes"):
            continue
        group = next((members for name, members in GROUP_NAMES.items() if name in piece.lower()), None)
        for name in group or [piece]:
            found = labs.find_analyte(name)
            if found is not None and found.code not in codes:
                codes.append(found.code)
    return codes


def _range_rules(text: str) -> list[LabRule]:
    """Rules for 'above/below/outside reference range for X' (1 × ULN / LLN of the lab's own range)."""
    only = ONLY_FOR.search(text)
    condition = only.group("who").strip() if only else None
    rules: list[LabRule] = []
    for match in RANGE_PHRASE.finditer(text):
        where = match.group("where").lower()
        quote_start, quote_end = match.start(), match.end()
        quote = text[quote_start:quote_end]
        what = match.group("what")
        if only and only.start() >= match.start("what") and only.start() < match.end("what"):
            what = what[: only.start() - match.start("what")]
        limits = {"above": [(Comparator.GT, "ULN")], "exceeding": [(Comparator.GT, "ULN")],
                  "below": [(Comparator.LT, "LLN")], "outside": [(Comparator.LT, "LLN"), (Comparator.GT, "ULN")]}[where]
        for code in mentioned_analytes(what):
            for comparator, multiple in limits:
                rules.append(LabRule(
                    analyte=code, comparator=comparator, value=1.0, multiple_of=multiple, quote=quote,
                    start=quote_start, end=quote_end, condition=condition, condition_type="if" if condition else None,
                ))
    return rules


def read_ti(path: str | Path, protocol_id: str | None = None, version: str = "1") -> Protocol:
    """The criteria of an SDTM TI file as a Protocol (one page, one line per criterion)."""
    path = Path(path)
    frame = read_text_table(path)
    frame.columns = [str(c).strip().upper() for c in frame.columns]
    require_columns(path, list(frame.columns), [["IETESTCD"], ["IETEST"], ["IECAT"]], TI_SCHEMA)
    study = protocol_id or next((s for s in frame.get("STUDYID", pd.Series(dtype=str)) if s), None) or path.stem
    if "TIVERS" in frame.columns and not protocol_id:
        version = next((v for v in frame["TIVERS"] if v), version)

    lines: list[str] = []
    spans: list[tuple[int, int, int]] = []  # (row index, start, end) of each criterion's sentence
    offset = 0
    for index, rec in frame.iterrows():
        prefix = f"{rec['IETESTCD'].strip()} ({rec['IECAT'].strip().lower()}): "
        sentence = " ".join(str(rec["IETEST"]).split())
        line = prefix + sentence + "\n"
        spans.append((index, offset + len(prefix), offset + len(prefix) + len(sentence)))
        lines.append(line)
        offset += len(line)
    text = "".join(lines)
    sections: list[Section] = []
    criteria: list[Criterion] = []
    for index, start, end in spans:
        rec = frame.loc[index]
        kind = _KINDS.get(str(rec["IECAT"]).strip().upper())
        if kind is None:
            raise DocumentError(path, f"row {index + 1}: IECAT {rec['IECAT']!r} is not INCLUSION or EXCLUSION")
        sentence = text[start:end]
        label = str(rec["IETESTCD"]).strip()
        external = EXTERNAL_RANGE.search(sentence)
        refers_to = [external.group(1)] if external else []
        if external:
            rules: list[LabRule] = []  # the range is outside the data: no number to compare with
        else:
            rules = extract_rules(sentence) or _range_rules(sentence)
        criteria.append(Criterion(
            id=f"{study}:{version}:{kind.value}:{label}", protocol_id=study, version=version, kind=kind,
            label=label, section_title=f"{kind.value.capitalize()} criteria (SDTM TI)", page_start=1, page_end=1,
            text=sentence, char_start=start, char_end=end, rules=rules, refers_to=refers_to,
        ))
    for kind in (CriterionKind.INCLUSION, CriterionKind.EXCLUSION):
        members = [c for c in criteria if c.kind is kind]
        if members:
            sections.append(Section(title=f"{kind.value.capitalize()} criteria (SDTM TI)", page_start=1, page_end=1,
                                    char_start=members[0].char_start, char_end=members[-1].char_end))
    return Protocol(
        protocol_id=study, version=version, title=f"{study} trial inclusion/exclusion criteria (SDTM TI)",
        source_file=str(path), sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        pages=[Page(number=1, text=text, char_start=0)], sections=sections, criteria=criteria,
    )
