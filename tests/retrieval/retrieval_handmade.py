"""Protocols built by hand for retrieval tests, before (and independent of) the PDF parser."""

from __future__ import annotations

import datetime as dt
import hashlib

from ingest.models import Criterion, CriterionKind, LabRule, Page, Protocol


def rule(analyte: str, comparator: str, value: float, quote: str, *, unit=None, multiple_of=None) -> LabRule:
    return LabRule(analyte=analyte, comparator=comparator, value=value, unit=unit, multiple_of=multiple_of, quote=quote)


def hand_protocol(
    protocol_id: str = "TG-TEST",
    version: str = "1.0",
    effective_date: dt.date | None = dt.date(2024, 1, 15),
    clauses: list[tuple[CriterionKind, str, str, list[LabRule], list[str]]] | None = None,
) -> Protocol:
    """A small protocol built by hand: (kind, label, text, rules, refers_to) per clause, laid out on one page."""
    if clauses is None:
        clauses = DEFAULT_CLAUSES
    text = ""
    criteria = []
    for kind, label, clause, rules, refers_to in clauses:
        start = len(text)
        text += clause + "\n"
        criteria.append(
            Criterion(
                id=f"{protocol_id}:{version}:{kind.value}:{label}", protocol_id=protocol_id, version=version,
                kind=kind, label=label, section_title="Eligibility" if kind != CriterionKind.CONTEXT else "Tables",
                page_start=1, page_end=1, text=clause, char_start=start, char_end=start + len(clause),
                rules=rules, refers_to=refers_to,
            )
        )
    sha = hashlib.sha256(text.encode()).hexdigest()
    return Protocol(
        protocol_id=protocol_id, version=version, effective_date=effective_date, source_file=f"{protocol_id}.txt",
        sha256=sha, pages=[Page(number=1, text=text, char_start=0)], criteria=criteria,
    )


INC, EXC, CTX = CriterionKind.INCLUSION, CriterionKind.EXCLUSION, CriterionKind.CONTEXT
DEFAULT_CLAUSES = [
    (INC, "1", "Adults aged 18 years or older with histologically confirmed non-small cell lung cancer.", [], []),
    (INC, "2", "Adequate hepatic function as defined in Table 4.", [], ["Table 4"]),
    (INC, "3", "Absolute neutrophil count >= 1.5 x 10^9/L.", [rule("NEUT", ">=", 1.5, "Absolute neutrophil count >= 1.5 x 10^9/L", unit="10^9/L")], []),
    (INC, "4", "Creatinine clearance >= 50 mL/min (Cockcroft-Gault).", [rule("CRCL", ">=", 50, "Creatinine clearance >= 50 mL/min", unit="mL/min")], []),
    (EXC, "1", "Alanine aminotransferase (ALT) > 2.5 x ULN if no liver metastases.", [rule("ALT", ">", 2.5, "ALT > 2.5 x ULN", multiple_of="ULN")], []),
    (EXC, "2", "Known infection with hepatitis B, hepatitis C or HIV.", [], []),
    (EXC, "3", "Pregnant or breastfeeding women.", [], []),
    (EXC, "4", "Platelet count < 100 x 10^9/L.", [rule("PLAT", "<", 100, "Platelet count < 100 x 10^9/L", unit="10^9/L")], []),
    (CTX, "Table 4", "Table 4 Hepatic function: ALT <= 2.5 x ULN; AST <= 2.5 x ULN; total bilirubin <= 1.5 x ULN.",
     [rule("ALT", "<=", 2.5, "ALT <= 2.5 x ULN", multiple_of="ULN"), rule("AST", "<=", 2.5, "AST <= 2.5 x ULN", multiple_of="ULN"),
      rule("BILI", "<=", 1.5, "total bilirubin <= 1.5 x ULN", multiple_of="ULN")], []),
    (CTX, "Table 5", "Table 5 Schedule of assessments: vital signs, ECG, physical examination at every visit.", [], []),
]
