"""Files a batch screen writes: the findings (CSV or JSON), SDTM DV records for deviations, and the row errors.

- findings file: one row per reported (patient, criterion) finding: VIOLATES (a deviation), NEEDS_REVIEW and
  INDETERMINATE (a reviewer must decide); with the arithmetic, the observations and the quoted clause. JSON holds
  the whole ScreeningResult (summary counts, errors, notes) as well.
- DV (SDTM protocol deviations domain), one record per deviation: STUDYID, DOMAIN=DV, USUBJID, DVSEQ, DVTERM,
  DVDECOD, DVCAT, DVSTDTC, plus the cited criterion (DVCRITID, DVCRITLB, DVPAGE, DVQUOTE, DVPROTV). CSV, or SAS
  transport when the name ends in .xpt.
- errors file: every row that could not be judged (severity error) or was judged with a caveat (warning).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from contextlib import contextmanager
from pathlib import Path

from labs.errors import TrialGuardError
from reasoning.batch import PatientFinding, ScreeningResult
from reasoning.evaluate import PART_FAILS, PART_HOLDS
from reasoning.models import CriterionKind, Verdict
from reasoning.verdict_words import words
from ui.units_display import with_unit

FINDING_COLUMNS = [
    "patient_id", "protocol_id", "version", "phase", "lab_date", "criterion_id", "kind", "label", "verdict",
    "reads_as", "rationale", "arithmetic", "observations", "section", "page", "quote", "notes",
]
DV_COLUMNS = ["STUDYID", "DOMAIN", "USUBJID", "DVSEQ", "DVTERM", "DVDECOD", "DVCAT", "DVSTDTC",
              "DVPROTV", "DVCRITID", "DVCRITLB", "DVPAGE", "DVQUOTE"]
ERROR_COLUMNS = ["file", "row", "spreadsheet_row", "severity", "field", "patient_id", "value", "reason"]

@contextmanager
def _replaced_when_done(path: Path):
    """Write to a partial file beside `path` and move it into place only once complete: a screen killed midway
    leaves the previous report or none, never a truncated one that reads as 'fewer deviations'."""
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        yield part
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection"): a patient id
# `=HYPERLINK(...)` from a lab file must reach the reviewer's spreadsheet as text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value: object) -> object:
    """A CSV cell that no spreadsheet will evaluate: text that starts like a formula gets a leading apostrophe;
    numbers (-5, +3.2) are left as they are."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_STARTS):
        return value
    try:
        float(value)
        return value
    except ValueError:
        return "'" + value


class _InertWriter(csv.DictWriter):
    def writerow(self, rowdict):
        return super().writerow({key: inert(value) for key, value in rowdict.items()})

    def writerows(self, rowdicts):
        for row in rowdicts:
            self.writerow(row)


# DVDECOD / DVCAT wording per criterion kind (sponsor terms; CDISC leaves DV terminology to the sponsor).
_DV_TERMS = {
    CriterionKind.INCLUSION: ("INCLUSION CRITERION NOT MET", "ELIGIBILITY CRITERIA"),
    CriterionKind.EXCLUSION: ("EXCLUSION CRITERION MET", "ELIGIBILITY CRITERIA"),
    CriterionKind.DISCONTINUATION: ("DISCONTINUATION CRITERION MET, NOT ACTED ON", "DISCONTINUATION CRITERIA"),
    CriterionKind.DOSE_MODIFICATION: ("DOSE MODIFICATION CRITERION MET", "DOSE MODIFICATION CRITERIA"),
}


def _observations_text(pf: PatientFinding) -> str:
    parts = []
    for o in pf.finding.observations:
        ref = " ".join(x for x in (f"LLN {o.lln:g}" if o.lln is not None else "",
                                   f"ULN {o.uln:g}" if o.uln is not None else "") if x)
        parts.append(with_unit(f"{o.analyte} {o.value:g}", o.unit) + (f" ({ref})" if ref else "")
                     + (f" on {o.date}" if o.date else "") + (f" [{o.source}]" if o.source else ""))
    return "; ".join(parts)


def finding_row(pf: PatientFinding) -> dict[str, object]:
    f = pf.finding
    cite = f.citations[0] if f.citations else None
    return {
        "patient_id": pf.patient_id, "protocol_id": pf.protocol_id, "version": pf.version, "phase": pf.phase,
        "lab_date": pf.lab_date.isoformat() if pf.lab_date else "", "criterion_id": f.criterion_id,
        "kind": f.criterion_kind.value, "label": f.label, "verdict": f.verdict.value,
        "reads_as": words(f.verdict, f.criterion_kind), "rationale": f.rationale,
        "arithmetic": " | ".join(f.arithmetic), "observations": _observations_text(pf),
        "section": (cite.section or "") if cite else "", "page": cite.page if cite else "",
        "quote": " | ".join(c.quote for c in f.citations), "notes": " | ".join(f.notes),
    }


def spreadsheet_row(error) -> int | str:
    """The row a person sees when opening a CSV in a spreadsheet: the header is row 1, so data row N is row N + 1.
    Blank for the file as a whole and for formats that have no rows on screen (XPT, FHIR JSON)."""
    if error.row <= 0 or not str(error.file).lower().endswith((".csv", ".tsv", ".txt")):
        return ""
    return error.row + 1


def _ordered(result: ScreeningResult) -> list[PatientFinding]:
    rank = {Verdict.VIOLATES: 0, Verdict.NEEDS_REVIEW: 1, Verdict.INDETERMINATE: 2}
    return sorted(result.findings, key=lambda pf: (rank.get(pf.finding.verdict, 3), pf.patient_id, pf.finding.criterion_id))


def write_findings(result: ScreeningResult, path: str | Path) -> Path:
    """Deviations and findings needing review: .json (the whole result) or .csv (one row per finding)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise TrialGuardError(f"--out {path}: expected a .csv or .json file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".json":
        payload = json.loads(result.model_dump_json())
        payload["deviations"] = sum(1 for f in result.findings if f.finding.verdict is Verdict.VIOLATES)
        with _replaced_when_done(path) as part:
            part.write_text(json.dumps(payload, indent=1, ensure_ascii=False), encoding="utf-8")
        return path
    with _replaced_when_done(path) as part, part.open("w", newline="", encoding="utf-8") as handle:
        writer = _InertWriter(handle, FINDING_COLUMNS)
        writer.writeheader()
        for pf in _ordered(result):
            writer.writerow(finding_row(pf))
    return path


def _drives_deviation(line: str, kind: CriterionKind) -> bool:
    """Whether an arithmetic line is one the deviation rests on: its own VIOLATES, or, where the text combines its
    rules, a part that makes the combination violate (an exclusion part that holds, an inclusion part that not)."""
    outcome = line.rsplit(" → ", 1)[-1].split(" [")[0]  # "VIOLATES [if liver metastases]" -> "VIOLATES"
    violating_part = PART_FAILS if kind is CriterionKind.INCLUSION else PART_HOLDS
    return outcome in (Verdict.VIOLATES.value, violating_part)


def _deciding_parts(arithmetic: list[str], kind: CriterionKind) -> list[str]:
    """The arithmetic a DVTERM states: only the parts that decided the deviation.

    An arithmetic line ends '→ VIOLATES' or, for one branch of a conditional rule, '→ VIOLATES [unless liver
    metastases]'. A branch depends on a fact the lab file does not give, so when any unconditional part violates,
    that part alone decided the verdict and the branches are left out; when only branches violate, each keeps its
    condition in the term ('...; limit ≤ 2.5 × ULN [unless liver metastases]'), never stated as if it held
    unconditionally. Relies on the engine's line shape: '<arithmetic> → <outcome>[ [<branch>]]'."""
    parts: list[tuple[str, str]] = []
    for line in arithmetic:
        if not _drives_deviation(line, kind):
            continue
        body, outcome = line.rsplit(" → ", 1)
        branch = outcome.split(" [", 1)[1].rstrip() if " [" in outcome else ""
        parts.append((body, f" [{branch}" if branch else ""))
    unconditional = [body for body, branch in parts if not branch]
    return unconditional or [body + branch for body, branch in parts]


def dv_records(result: ScreeningResult) -> list[dict[str, object]]:
    """SDTM DV records, one per deviation (VIOLATES), numbered per subject."""
    records: list[dict[str, object]] = []
    sequence: dict[str, int] = {}
    study = result.study_id or result.protocol_id
    for pf in sorted(result.deviations, key=lambda p: (p.patient_id, p.lab_date or dt.date.min,
                                                        p.finding.criterion_id)):
        f = pf.finding
        decod, category = _DV_TERMS.get(f.criterion_kind, ("PROTOCOL CRITERION NOT FOLLOWED", "OTHER"))
        sequence[pf.patient_id] = sequence.get(pf.patient_id, 0) + 1
        cite = f.citations[0] if f.citations else None
        driving = _deciding_parts(f.arithmetic, f.criterion_kind)
        term = f"{f.criterion_kind.value.capitalize()} {f.label}: {'; '.join(driving)}" if driving else f.rationale
        records.append({
            "STUDYID": study, "DOMAIN": "DV", "USUBJID": pf.patient_id, "DVSEQ": sequence[pf.patient_id],
            "DVTERM": term[:200],
            "DVDECOD": decod, "DVCAT": category,
            "DVSTDTC": pf.lab_date.isoformat() if pf.lab_date else "",
            "DVPROTV": pf.version, "DVCRITID": f.criterion_id, "DVCRITLB": f.label,
            "DVPAGE": cite.page if cite else "", "DVQUOTE": " | ".join(c.quote for c in f.citations),
        })
    return records


def write_dv(result: ScreeningResult, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    records = dv_records(result)
    if path.suffix.lower() == ".xpt":
        import pandas as pd
        import pyreadstat

        frame = pd.DataFrame(records, columns=DV_COLUMNS).astype({"DVSEQ": float})
        frame["DVPAGE"] = pd.to_numeric(frame["DVPAGE"], errors="coerce")
        for column in ("DVTERM", "DVQUOTE"):  # SAS transport v5 character columns hold at most 200 bytes
            frame[column] = frame[column].astype(str).str.slice(0, 200)
        with _replaced_when_done(path) as part:
            pyreadstat.write_xport(frame, str(part), table_name="DV", file_format_version=5)
        return path
    with _replaced_when_done(path) as part, part.open("w", newline="", encoding="utf-8") as handle:
        writer = _InertWriter(handle, DV_COLUMNS)
        writer.writeheader()
        writer.writerows(records)
    return path


def write_errors(result: ScreeningResult, path: str | Path) -> Path:
    """Every row not judged (errors) and every row judged with a caveat (warnings), in file order."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = sorted([*result.errors, *result.warnings], key=lambda e: (e.file, e.row, e.severity))
    with _replaced_when_done(path) as part, part.open("w", newline="", encoding="utf-8") as handle:
        writer = _InertWriter(handle, ERROR_COLUMNS)
        writer.writeheader()
        for e in rows:
            writer.writerow({"file": e.file, "row": e.row, "spreadsheet_row": spreadsheet_row(e),
                             "severity": e.severity, "field": e.field,
                             "patient_id": e.patient_id or "", "value": e.value or "", "reason": e.reason})
    return path
