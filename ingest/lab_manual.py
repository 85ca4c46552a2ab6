"""A study lab manual -> reference ranges (analyte, sex, age band, LLN, ULN, unit, lab) the engine can use.

Reads a table (CSV, XLSX) with a header row, a DOCX (its tables, else its paragraphs as text rows) or a PDF (text
rows such as "ALT  M  18-99  7  40  U/L  Central Lab"). A row that makes no sense (unknown analyte or unit, a unit
the analyte is not measured in, LLN > ULN, no limit at all) is reported in `problems` with the file and row, and
not used: a wrong ULN silently applied would turn into wrong verdicts.

Age bands: columns age_min/age_max follow ReferenceRange (min inclusive, max exclusive); a written band
"18-64" is read as whole years inclusive (age_max 65), "≥65" / "65+" as open-ended.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

import labs
from labs.errors import DocumentError, TrialGuardError
from labs.observation import Sex
from labs.reference_range import ReferenceRange

# Header names as lab manuals write them -> our field.
_HEADER_ALIASES = {
    "analyte": ["analyte", "test", "testname", "testcode", "lbtestcd", "lbtest", "parameter", "code", "name",
                "labtest", "component", "assay"],
    "sex": ["sex", "gender"],
    "age_min": ["agemin", "agefrom", "agelow", "minage", "agelower", "agefromy", "agestart", "agemintyears",
                "ageminyears", "agefromyears"],
    "age_max": ["agemax", "ageto", "agehigh", "maxage", "ageupper", "agetoy", "ageend", "agemaxyears",
                "agetoyears"],
    "age_band": ["age", "ageband", "agerange", "agegroup", "ageyears", "agey"],
    "lln": ["lln", "low", "lower", "lowerlimit", "reflow", "normallow", "lowerlimitofnormal", "min", "rangelow",
            "lowlimit", "lowerreferencelimit"],
    "uln": ["uln", "high", "upper", "upperlimit", "refhigh", "normalhigh", "upperlimitofnormal", "max", "rangehigh",
            "highlimit", "upperreferencelimit"],
    "range": ["range", "referencerange", "normalrange", "refrange"],
    "unit": ["unit", "units", "uom"],
    "lab": ["lab", "laboratory", "site", "labname"],
}
_FIELD_OF_HEADER = {alias: field for field, aliases in _HEADER_ALIASES.items() for alias in aliases}
_SEX_WORDS = {"m": Sex.MALE, "male": Sex.MALE, "men": Sex.MALE, "f": Sex.FEMALE, "female": Sex.FEMALE,
              "women": Sex.FEMALE, "w": Sex.FEMALE}
_BOTH_SEXES = {"", "-", "–", "both", "all", "any", "m/f", "f/m", "mf", "b", "x", "n/a", "na"}
_NUMBER = r"\d+(?:[.,]\d+)?"
_EMPTY = {"", "-", "–", "—", "n/a", "na", "none", "nd"}


class LabManual(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ranges: list[ReferenceRange] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list, description="rows not used, each naming file and row")

    def range_for(self, analyte: str, sex: Sex | str | None = None, age: float | None = None) -> ReferenceRange | None:
        """The most specific range for this analyte that fits the patient; None when none fits or it is ambiguous.

        A sex-specific range needs the patient's sex; an age band needs the age, unless the manual has only that
        one band for the analyte and sex (then nothing is left to choose).
        """
        code = _analyte_code(analyte)
        if code is None:
            return None
        sex = Sex(sex) if isinstance(sex, str) and sex else sex
        candidates = [r for r in self.ranges if r.analyte == code]
        fitting = []
        for item in candidates:
            if item.sex is not None and item.sex != sex:
                continue
            same_sex = [r for r in candidates if r.sex == item.sex]
            if age is None:
                if (item.age_min is not None or item.age_max is not None) and len(same_sex) > 1:
                    continue
            elif (item.age_min is not None and age < item.age_min) or (item.age_max is not None
                                                                          and age >= item.age_max):
                continue
            fitting.append(item)
        if not fitting:
            return None

        def specificity(item: ReferenceRange) -> tuple[int, float]:
            width = (item.age_max if item.age_max is not None else 200) - (item.age_min or 0)
            return (0 if item.sex is not None else 1, width)

        fitting.sort(key=specificity)
        return fitting[0]


def _analyte_code(name: str) -> str | None:
    try:
        return labs.analyte(name).code
    except TrialGuardError:
        return None


def read_lab_manual(path: str | Path) -> LabManual:
    path = Path(path)
    if not path.is_file():
        raise DocumentError(path, "no such file")
    suffix = path.suffix.lower()
    if suffix in {".csv", ".tsv"}:
        return _from_table(path, _read_csv(path))
    if suffix in {".xlsx", ".xlsm"}:
        return _from_table(path, _read_xlsx(path))
    if suffix == ".docx":
        return _read_docx(path)
    if suffix == ".pdf":
        return _from_text_lines(path, _pdf_lines(path))
    if suffix in {".txt", ".md"}:
        lines = [(1, n, line) for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)]
        return _from_text_lines(path, lines)
    raise DocumentError(path, f"unsupported lab manual type {suffix or '(none)'}: expected .csv, .tsv, .xlsx, "
                              f".docx, .pdf, .txt or .md")


# ---------------------------------------------------------------------------------------------------------------
# tables


def _read_csv(path: Path) -> list[list[str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise DocumentError(path, f"not UTF-8 text ({error})") from error
    if not text.strip():
        raise DocumentError(path, "empty file")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
    return [row for row in csv.reader(text.splitlines(), dialect)]


def _read_xlsx(path: Path) -> list[list[str]]:
    import openpyxl  # imported here: only XLSX manuals need it

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # noqa: BLE001 - openpyxl raises many types for a bad file
        raise DocumentError(path, f"cannot open as XLSX ({error})") from error
    rows: list[list[str]] = []
    for sheet in workbook.worksheets:
        for values in sheet.iter_rows(values_only=True):
            rows.append(["" if v is None else str(v) for v in values])
        if rows:
            break  # the first non-empty sheet is the table
    workbook.close()
    return rows


def _header_fields(header: list[str]) -> list[str | None]:
    return [_FIELD_OF_HEADER.get(re.sub(r"[^a-z]", "", cell.lower())) for cell in header]


def _from_table(path: Path, rows: list[list[str]], *, where: str = "") -> LabManual:
    manual = LabManual()
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise DocumentError(path, "empty table")
    fields = _header_fields(rows[0])
    has_limits = ("lln" in fields or "uln" in fields) or "range" in fields
    if "analyte" not in fields or not has_limits:
        raise DocumentError(path, f"{where}header {rows[0]!r}: expected columns analyte/test, lln/low and/or "
                                  f"uln/high (or range), unit; optional sex, age_min/age_max or age band, lab")
    for index, row in enumerate(rows[1:], start=2):
        record = {}
        for field, cell in zip(fields, row):
            if field and field not in record:
                record[field] = cell.strip()
        _add_range(manual, record, f"{path.name} {where}row {index}")
    return manual


def _add_range(manual: LabManual, record: dict[str, str], where: str) -> None:
    """Validate one row; append a ReferenceRange or a problem naming `where`."""
    name = record.get("analyte", "")
    try:
        analyte = labs.analyte(name)
    except TrialGuardError as error:
        manual.problems.append(f"{where}: unknown analyte {name!r} ({error})")
        return
    lln_text, uln_text = record.get("lln", ""), record.get("uln", "")
    if "range" in record and not (lln_text or uln_text):
        parts = re.findall(_NUMBER, record["range"])
        if len(parts) == 2:
            lln_text, uln_text = parts
        elif re.match(r"\s*(?:<|≤|<=)", record["range"]) and parts:
            uln_text = parts[0]
        elif re.match(r"\s*(?:>|≥|>=)", record["range"]) and parts:
            lln_text = parts[0]
    try:
        lln = _optional_number(lln_text)
        uln = _optional_number(uln_text)
    except ValueError:
        manual.problems.append(f"{where}: LLN {lln_text!r} / ULN {uln_text!r} is not a number")
        return
    if lln is None and uln is None:
        manual.problems.append(f"{where}: {analyte.code} has neither LLN nor ULN")
        return
    # a limit scales a criterion's multiple: only a positive finite number can (float() also reads inf, nan, -40);
    # an LLN of 0 is how labs write "no lower limit" and is kept (the engine refuses to scale a limit of 0)
    bad = [f"{name} {value:g}" for name, value in (("LLN", lln), ("ULN", uln))
           if value is not None and (not math.isfinite(value) or value < 0 or (value == 0 and name == "ULN"))]
    if bad:
        manual.problems.append(f"{where}: {analyte.code} {', '.join(bad)} is not a positive finite number: row not used")
        return
    if lln is not None and uln is not None and lln > uln:
        manual.problems.append(f"{where}: {analyte.code} LLN {lln:g} > ULN {uln:g}")
        return
    unit_text = record.get("unit", "")
    try:
        unit = labs.parse_unit(unit_text) if unit_text else None
    except TrialGuardError as error:
        manual.problems.append(f"{where}: {analyte.code} unknown unit {unit_text!r} ({error})")
        return
    if unit is None:
        manual.problems.append(f"{where}: {analyte.code} has no unit")
        return
    try:
        labs.convert(1.0, unit, analyte.canonical_unit, analyte)
    except TrialGuardError as error:
        manual.problems.append(f"{where}: {analyte.code} is not measured in {unit_text!r} ({error})")
        return
    sex_text = record.get("sex", "").strip().lower()
    if sex_text in _BOTH_SEXES:
        sex = None
    elif sex_text in _SEX_WORDS:
        sex = _SEX_WORDS[sex_text]
    else:
        manual.problems.append(f"{where}: {analyte.code} sex {record.get('sex')!r} is not M, F or blank")
        return
    try:
        age_min, age_max = _age_band(record)
    except ValueError as error:
        manual.problems.append(f"{where}: {analyte.code} {error}")
        return
    manual.ranges.append(ReferenceRange(
        analyte=analyte.code, lln=lln, uln=uln, unit=unit, sex=sex, age_min=age_min, age_max=age_max,
        lab=record.get("lab") or None, source=where,
    ))


def _optional_number(text: str) -> float | None:
    text = text.strip()
    if text.lower() in _EMPTY:
        return None
    return float(text.replace(",", "."))


def _age_band(record: dict[str, str]) -> tuple[float | None, float | None]:
    age_min = _optional_age(record.get("age_min", ""))
    age_max = _optional_age(record.get("age_max", ""))
    band = record.get("age_band", "").strip()
    if band and band.lower() not in _EMPTY and age_min is None and age_max is None:
        age_min, age_max = _parse_band(band)
    if age_min is not None and age_max is not None and age_min >= age_max:
        raise ValueError(f"age band {age_min:g}-{age_max:g} is empty")
    return age_min, age_max


def _optional_age(text: str) -> float | None:
    try:
        return _optional_number(text)
    except ValueError as error:
        raise ValueError(f"age {text.strip()!r} is not a number") from error


def _parse_band(band: str) -> tuple[float | None, float | None]:
    """ "18-64" (whole years, inclusive) / ">=65" / "65+" / "<18" / "adult" is not understood -> error."""
    text = band.replace("–", "-").replace(" ", "").lower().rstrip("y").removesuffix("years")
    if match := re.fullmatch(rf"({_NUMBER})-({_NUMBER})", text):
        low, high = float(match.group(1)), float(match.group(2))
        return low, high + 1 if high.is_integer() else high
    if match := re.fullmatch(rf"(?:>=|≥|=>)({_NUMBER})|({_NUMBER})\+", text):
        return float(match.group(1) or match.group(2)), None
    if match := re.fullmatch(rf"(?:<|under)({_NUMBER})", text):
        return None, float(match.group(1))
    if match := re.fullmatch(rf"(?:<=|≤)({_NUMBER})", text):
        return None, float(match.group(1)) + 1
    if match := re.fullmatch(rf">({_NUMBER})", text):
        return float(match.group(1)) + 1, None
    raise ValueError(f"age band {band!r} is not understood (expected e.g. 18-64, >=65, 65+, <18)")


# ---------------------------------------------------------------------------------------------------------------
# text rows (PDF, DOCX paragraphs, TXT)

# analyte name, optional sex, 2-4 number/dash/band cells, unit, optional lab
_ROW_RE = re.compile(
    r"^(?P<name>[A-Za-z][\w .,'()/+\-]*?)\s+"
    r"(?:(?P<sex>M|F|Male|Female|Both|All|M/F|-|–)\s+)?"
    r"(?P<cells>(?:(?:" + _NUMBER + r"[-–]" + _NUMBER + r"|(?:>=|≥|<|≤|>)\s*" + _NUMBER + r"|" + _NUMBER
    + r"\+?|-|–)\s+){2,4})"
    r"(?P<unit>\S+)(?:\s+(?P<lab>.+?))?\s*$"
)


def _pdf_lines(path: Path) -> list[tuple[int, int, str]]:
    import pypdf

    try:
        reader = pypdf.PdfReader(path)
        if reader.is_encrypted:
            raise DocumentError(path, "encrypted PDF")
        pages = [page.extract_text() or "" for page in reader.pages]
    except DocumentError:
        raise
    except Exception as error:  # noqa: BLE001 - pypdf raises many types for a corrupt file
        raise DocumentError(path, f"cannot read as PDF ({error})") from error
    if not any(page.strip() for page in pages):
        raise DocumentError(path, "PDF has no text layer")
    return [(number, line_number, line) for number, page in enumerate(pages, 1)
            for line_number, line in enumerate(page.splitlines(), 1)]


def _from_text_lines(path: Path, lines: list[tuple[int, int, str]]) -> LabManual:
    manual = LabManual()
    for page, line_number, line in lines:
        text = " ".join(line.replace("\u00a0", " ").split())
        match = _ROW_RE.match(text)
        if not match:
            continue
        name = match.group("name").strip()
        if _analyte_code(name) is None and not match.group("sex"):
            continue  # prose that happens to hold numbers; only rows with a sex column are reported as unknown
        cells = re.findall(rf"{_NUMBER}[-–]{_NUMBER}|(?:>=|≥|<|≤|>)\s*{_NUMBER}|{_NUMBER}\+?|[-–]",
                           match.group("cells"))
        record = {"analyte": name, "sex": match.group("sex") or "", "unit": match.group("unit"),
                  "lab": (match.group("lab") or "").strip()}
        if len(cells) == 4:
            record.update(age_min=cells[0], age_max=cells[1], lln=cells[2], uln=cells[3])
        elif len(cells) == 3 and (re.search(r"\d[-–]\d|[<>≤≥+]", cells[0])):
            record.update(age_band=cells[0], lln=cells[1], uln=cells[2])
        elif len(cells) == 2:
            record.update(lln=cells[0], uln=cells[1])
        else:
            manual.problems.append(f"{path.name} page {page} line {line_number}: cannot tell age/LLN/ULN apart "
                                   f"in {text!r}")
            continue
        _add_range(manual, record, f"{path.name} page {page} line {line_number}")
    if not manual.ranges and not manual.problems:
        raise DocumentError(path, "no reference-range rows found (expected rows like 'ALT M 18-99 7 40 U/L')")
    return manual


def _read_docx(path: Path) -> LabManual:
    import docx  # python-docx

    try:
        document = docx.Document(str(path))
    except Exception as error:  # noqa: BLE001 - python-docx raises many types for a bad file
        raise DocumentError(path, f"cannot open as DOCX ({error})") from error
    manual = LabManual()
    for number, table in enumerate(document.tables, 1):
        rows = [[cell.text.strip() for cell in row.cells] for row in table.rows]
        if not rows or "analyte" not in _header_fields(rows[0]):
            continue
        part = _from_table(path, rows, where=f"table {number} ")
        manual.ranges.extend(part.ranges)
        manual.problems.extend(part.problems)
    if manual.ranges or manual.problems:
        return manual
    lines = [(1, n, p.text) for n, p in enumerate(document.paragraphs, 1)]
    return _from_text_lines(path, lines)
