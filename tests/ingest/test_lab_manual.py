"""ingest.lab_manual: reference ranges from CSV/XLSX/DOCX/PDF lab manuals; nonsense rows reported, not used."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.lab_manual import LabManual, read_lab_manual
from labs.errors import DocumentError
from labs.observation import Sex

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "protocols"

TABLE = [
    ["Test", "Sex", "Age min", "Age max", "Low", "High", "Units", "Laboratory"],
    ["ALT", "M", "18", "", "10", "50", "U/L", "Central"],
    ["SGPT", "F", "18", "", "7", "35", "U/L", "Central"],
    ["Haemoglobin", "male", "18", "65", "13.5", "17.5", "g/dL", "Central"],
    ["Haemoglobin", "male", "65", "", "12.5", "17.0", "g/dL", "Central"],
    ["Creatinine", "", "18", "", "62", "106", "µmol/L", "Central"],
    ["Platelets", "-", "", "", "150", "400", "x10^9/L", "Central"],
    ["Bilirubin", "", "", "", "1.2", "0.2", "mg/dL", "Central"],  # LLN > ULN
    ["Unobtainium", "", "", "", "1", "2", "mg/dL", "Central"],  # unknown analyte
    ["Potassium", "", "", "", "3.5", "5.1", "bananas/L", "Central"],  # unknown unit
    ["ALT", "", "", "", "10", "40", "mmol/L", "Central"],  # a unit ALT is not measured in
    ["Glucose", "", "", "", "", "", "mg/dL", "Central"],  # no limit at all
]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    path.write_text("\n".join(",".join(row) for row in rows) + "\n", encoding="utf-8")
    return path


def write_xlsx(path: Path, rows: list[list[str]]) -> Path:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append([float(cell) if cell.replace(".", "", 1).isdigit() else (cell or None) for cell in row])
    workbook.save(path)
    return path


@pytest.fixture(params=["csv", "xlsx"])
def manual(request, tmp_path: Path) -> tuple[LabManual, str]:
    writer = write_csv if request.param == "csv" else write_xlsx
    path = writer(tmp_path / f"manual.{request.param}", TABLE)
    return read_lab_manual(path), path.name


def test_good_rows_become_ranges(manual) -> None:
    lab_manual, _ = manual
    summary = [(r.analyte, r.sex, r.age_min, r.age_max, r.lln, r.uln) for r in lab_manual.ranges]
    assert summary == [
        ("ALT", Sex.MALE, 18.0, None, 10.0, 50.0),
        ("ALT", Sex.FEMALE, 18.0, None, 7.0, 35.0),  # SGPT is ALT
        ("HGB", Sex.MALE, 18.0, 65.0, 13.5, 17.5),
        ("HGB", Sex.MALE, 65.0, None, 12.5, 17.0),
        ("CREAT", None, 18.0, None, 62.0, 106.0),
        ("PLAT", None, None, None, 150.0, 400.0),
    ]
    assert all(r.lab == "Central" for r in lab_manual.ranges)
    assert lab_manual.ranges[0].source.endswith("row 2")


def test_nonsense_rows_are_reported_with_file_and_row(manual) -> None:
    lab_manual, name = manual
    problems = lab_manual.problems
    assert len(problems) == 5
    assert all(p.startswith(f"{name} row ") for p in problems)
    assert "row 8" in problems[0] and "LLN 1.2 > ULN 0.2" in problems[0]
    assert "row 9" in problems[1] and "unknown analyte 'Unobtainium'" in problems[1]
    assert "row 10" in problems[2] and "unknown unit 'bananas/L'" in problems[2]
    assert "row 11" in problems[3] and "not measured in 'mmol/L'" in problems[3]
    assert "row 12" in problems[4] and "neither LLN nor ULN" in problems[4]


def test_range_for_picks_sex_and_age_band(manual) -> None:
    lab_manual, _ = manual
    assert lab_manual.range_for("ALT", Sex.FEMALE, 40).uln == 35.0
    assert lab_manual.range_for("SGPT", "M", 40).uln == 50.0
    assert lab_manual.range_for("ALT", None, 40) is None  # only sex-specific ranges: sex is needed
    assert lab_manual.range_for("HGB", Sex.MALE, 64.9).lln == 13.5
    assert lab_manual.range_for("HGB", Sex.MALE, 65).lln == 12.5  # the upper bound is exclusive
    assert lab_manual.range_for("HGB", Sex.MALE, None) is None  # two age bands: age is needed
    assert lab_manual.range_for("HGB", Sex.FEMALE, 40) is None
    assert lab_manual.range_for("CREAT", Sex.FEMALE, 30).uln == 106.0  # a both-sexes range fits anyone
    assert lab_manual.range_for("CREAT", None, 10) is None  # outside the adult band
    assert lab_manual.range_for("PLAT", None, None).lln == 150.0
    assert lab_manual.range_for("Unobtainium", None, 40) is None
    assert lab_manual.range_for("BILI", None, 40) is None  # its only row was rejected


def test_age_band_column_and_sex_specific_before_general(tmp_path: Path) -> None:
    rows = [["analyte", "gender", "age", "lln", "uln", "unit"],
            ["ALT", "", "18-64", "8", "45", "U/L"],
            ["ALT", "F", "18-64", "7", "35", "U/L"],
            ["ALT", "", ">=65", "6", "40", "U/L"],
            ["ALT", "", "adults", "6", "40", "U/L"]]
    lab_manual = read_lab_manual(write_csv(tmp_path / "bands.csv", rows))
    assert [(r.age_min, r.age_max) for r in lab_manual.ranges] == [(18, 65), (18, 65), (65, None)]
    assert lab_manual.range_for("ALT", Sex.FEMALE, 64.5).uln == 35.0
    assert lab_manual.range_for("ALT", Sex.MALE, 64.5).uln == 45.0
    assert lab_manual.range_for("ALT", Sex.MALE, 70).uln == 40.0
    assert len(lab_manual.problems) == 1 and "row 5" in lab_manual.problems[0] and "adults" in lab_manual.problems[0]


def test_text_rows_from_a_txt_manual(tmp_path: Path) -> None:
    text = ("Central Laboratory reference ranges\n"
            "Analyte Sex Age LLN ULN Unit Lab\n"
            "ALT  M  18-99  7  40  U/L  Central Lab\n"
            "Platelets - 18-99 150 400 10^9/L Central Lab\n"
            "Bilirubin - 18-99 2.0 1.0 mg/dL Central Lab\n"
            "Glucose ranges apply to fasting samples of 8 hours.\n")
    path = tmp_path / "manual.txt"
    path.write_text(text, encoding="utf-8")
    lab_manual = read_lab_manual(path)
    assert [(r.analyte, r.sex, r.age_min, r.age_max, r.lln, r.uln, r.unit, r.lab) for r in lab_manual.ranges] == [
        ("ALT", Sex.MALE, 18.0, 100.0, 7.0, 40.0, "U/L", "Central Lab"),
        ("PLAT", None, 18.0, 100.0, 150.0, 400.0, "10^9/L", "Central Lab"),
    ]
    assert len(lab_manual.problems) == 1 and "line 5" in lab_manual.problems[0]


def test_docx_table(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("Reference ranges")
    table = document.add_table(rows=0, cols=6)
    for row in [["Analyte", "Sex", "LLN", "ULN", "Unit", "Lab"], ["AST", "F", "9", "32", "U/L", "Central"],
                ["AST", "M", "40", "10", "U/L", "Central"]]:
        cells = table.add_row().cells
        for cell, value in zip(cells, row):
            cell.text = value
    path = tmp_path / "manual.docx"
    document.save(path)
    lab_manual = read_lab_manual(path)
    assert [(r.analyte, r.sex, r.lln, r.uln) for r in lab_manual.ranges] == [("AST", Sex.FEMALE, 9.0, 32.0)]
    assert lab_manual.problems == ["manual.docx table 1 row 3: AST LLN 40 > ULN 10"]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.csv", "", "empty file"),
        ("noheader.csv", "foo,bar\n1,2\n", "expected columns analyte/test"),
        ("manual.json", "{}", "unsupported lab manual type .json"),
        ("broken.xlsx", "not a zip", "cannot open as XLSX"),
        ("broken.pdf", "%PDF-1.4 garbage", "cannot read as PDF"),
    ],
)
def test_unreadable_manuals_raise_naming_the_file(tmp_path: Path, name: str, content: str, reason: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DocumentError) as error:
        read_lab_manual(path)
    assert name in str(error.value) and reason in str(error.value)


def test_missing_file() -> None:
    with pytest.raises(DocumentError, match="no such file"):
        read_lab_manual(ROOT / "no_such_manual.csv")


@pytest.mark.skipif(not (DEMO / "lab_manual_demo.csv").is_file(), reason="demo lab manual not present")
def test_demo_lab_manual_csv_and_pdf_agree() -> None:
    from_csv = read_lab_manual(DEMO / "lab_manual_demo.csv")
    from_pdf = read_lab_manual(DEMO / "lab_manual_demo.pdf")
    assert from_csv.problems == [] and from_pdf.problems == []
    assert len(from_csv.ranges) >= 15

    def key(r):
        return (r.analyte, r.sex, r.age_min, r.age_max, r.lln, r.uln, r.unit, r.lab)

    assert sorted(map(key, from_pdf.ranges), key=str) == sorted(map(key, from_csv.ranges), key=str)
    alt_female = from_csv.range_for("ALT", Sex.FEMALE, 50)
    assert (alt_female.uln, alt_female.unit) == (35.0, "U/L")


def test_a_protocol_parsed_with_its_lab_manual_carries_the_ranges_and_reports_bad_rows(tmp_path: Path) -> None:
    from ingest import parse_protocol

    manual = write_csv(tmp_path / "manual.csv", TABLE)
    protocol = parse_protocol(DEMO / "TG-ONC-001_v1.0.pdf", protocol_id="TG-ONC-001", version="1.0",
                              lab_manual=manual)
    assert protocol.reference_ranges == read_lab_manual(manual).ranges
    assert {r.analyte for r in protocol.reference_ranges} >= {"ALT", "HGB", "CREAT", "PLAT"}
    assert len(protocol.problems) == 5 and all("manual.csv" in p for p in protocol.problems)
    assert not parse_protocol(DEMO / "TG-ONC-001_v1.0.pdf").reference_ranges  # no manual: nothing invented


def test_the_demo_manifest_names_each_protocols_lab_manual() -> None:
    from retrieval.manifest import read_manifest

    entries = read_manifest(DEMO / "manifest.yaml")
    assert entries and all(e.lab_manual == (DEMO / "lab_manual_demo.csv").resolve() for e in entries)
