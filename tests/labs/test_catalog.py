"""The analyte catalog: coverage, lookups as people write names, and validation that names the bad entry."""

from __future__ import annotations

import pytest

import labs
from labs.catalog import DEFAULT_CATALOG, load_catalog
from labs.errors import ConfigError, UnknownAnalyteError

REQUIRED = [
    "ALT", "AST", "ALP", "GGT", "BILI", "BILDIR", "ALB", "LDH", "CREAT", "CRCL", "EGFR", "BUN", "UREA", "URATE",
    "HGB", "WBC", "NEUT", "LYM", "PLAT", "HCT", "RBC", "INR", "PT", "APTT", "FIBRINO", "SODIUM", "K", "CL", "BICARB",
    "CA", "MG", "PHOS", "GLUC", "HBA1C", "CPEPTIDE", "INSULIN", "CHOL", "LDL", "HDL", "TRIG", "TROPT", "TROPI",
    "BNP", "NTPROBNP", "CK", "TSH", "T4FR", "AMYLASE", "LIPASE", "HBVDNA", "HCVRNA", "HIV1RNA", "HBSAG", "HCG",
    "QTCF", "CRP", "UPCR", "LVEF",
]


def test_catalog_covers_the_analytes_criteria_use():
    codes = {a.code for a in labs.catalog()}
    assert len(codes) >= 45
    assert not set(REQUIRED) - codes
    categories = {a.category.value for a in labs.catalog()}
    assert {"liver", "renal", "haematology", "coagulation", "electrolytes", "glycaemia", "lipids", "cardiac",
            "thyroid", "pancreas", "virology", "pregnancy", "ecg"} <= categories


@pytest.mark.parametrize(
    "written,code",
    [
        ("SGPT", "ALT"), ("ALAT", "ALT"), ("GPT", "ALT"), ("alanine aminotransferase", "ALT"),
        ("Alanine Transaminase", "ALT"), ("SGOT", "AST"), ("Hgb", "HGB"), ("Hb", "HGB"), ("haemoglobin", "HGB"),
        ("hemoglobin", "HGB"), ("PLT", "PLAT"), ("platelet count", "PLAT"), ("Platelets", "PLAT"),
        ("T. bili", "BILI"), ("T.bili", "BILI"), ("total bilirubin", "BILI"), ("TBL", "BILI"), ("TBIL", "BILI"),
        ("A1C", "HBA1C"), ("HbA1c", "HBA1C"), ("glycated haemoglobin", "HBA1C"), ("K+", "K"), ("potassium", "K"),
        ("ANC", "NEUT"), ("absolute neutrophil count", "NEUT"), ("neutrophils", "NEUT"), ("granulocytes", "NEUT"),
        ("serum creatinine", "CREAT"), ("Cr", "CREAT"), ("CrCl", "CRCL"), ("creatinine clearance", "CRCL"),
        ("eGFR", "EGFR"), ("QTc", "QTCF"), ("QTcF", "QTCF"), ("NT-proBNP", "NTPROBNP"), ("beta-hCG", "HCG"),
        ("HBV DNA", "HBVDNA"), ("HIV viral load", "HIV1RNA"), ("Na", "SODIUM"), ("SODIUM", "SODIUM"),
        ("aPTT", "APTT"), ("INR", "INR"), ("Free T4", "T4FR"), ("gamma-GT", "GGT"), ("blood urea nitrogen", "BUN"),
    ],
)
def test_names_as_people_write_them(written, code):
    assert labs.analyte(written).code == code
    assert labs.find_analyte(written).code == code


def test_find_analyte_does_not_guess():
    assert labs.find_analyte("creatinin") is None  # no fuzzy matching while scanning text
    assert labs.find_analyte("pt") is None  # "pt" is a patient; PT is prothrombin time
    assert labs.find_analyte("PT").code == "PT"
    assert labs.find_analyte("k") is None and labs.find_analyte("K").code == "K"
    assert labs.find_analyte("") is None and labs.find_analyte(None) is None  # type: ignore[arg-type]
    # short names match only as written: "got", "bun", "NA" (not available), "CR" (complete response) are words
    for word in ("got", "bun", "sun", "NA", "CR", "hgb"):
        assert labs.find_analyte(word) is None, word
    assert labs.find_analyte("GOT").code == "AST" and labs.find_analyte("BUN").code == "BUN"
    # EGFR in running text is the receptor; eGFR is the filtration rate; analyte() still resolves both
    assert labs.find_analyte("EGFR") is None and labs.find_analyte("eGFR").code == "EGFR"
    assert labs.analyte("EGFR").code == "EGFR"


def test_unknown_analyte_names_closest_entries():
    with pytest.raises(UnknownAnalyteError) as info:
        labs.analyte("creatinin")
    assert "CREAT" in str(info.value) and "creatinin" in str(info.value)
    with pytest.raises(UnknownAnalyteError, match="ALT"):
        labs.analyte("alanine amino-transferaze")


def test_analyte_by_loinc():
    assert labs.analyte_by_loinc("1742-6").code == "ALT"
    assert labs.analyte_by_loinc("2160-0").code == "CREAT"
    assert labs.analyte_by_loinc("718-7").code == "HGB"
    assert labs.analyte_by_loinc("0000-0") is None


def test_molar_masses_and_valences_where_conversions_need_them():
    expected_mw = {"CREAT": 113.12, "BILI": 584.66, "GLUC": 180.16, "UREA": 60.06, "BUN": 28.014, "URATE": 168.11,
                   "CHOL": 386.65, "TRIG": 885.7, "CA": 40.08, "MG": 24.305, "PHOS": 30.974, "ALB": 66500}
    for code, mw in expected_mw.items():
        assert labs.analyte(code).molar_mass == mw
    for code, valence in {"SODIUM": 1, "K": 1, "CL": 1, "BICARB": 1, "CA": 2, "MG": 2}.items():
        assert labs.analyte(code).valence == valence


def test_the_shipped_catalog_loads(tmp_path):
    assert len(load_catalog(DEFAULT_CATALOG).analytes) == len(labs.catalog())


GOOD = """
  - code: FOO
    name: Foo
    category: liver
    synonyms: [foo test]
    canonical_unit: U/L
    units: [U/L, ukat/L]
"""


@pytest.mark.parametrize(
    "entry,message",
    [
        (GOOD + "    colour: blue\n", ["FOO", "colour", "Extra inputs"]),  # unknown key
        (GOOD.replace("[U/L, ukat/L]", "[U/L, blorp/L]"), ["FOO", "blorp/L"]),  # unreadable unit
        (GOOD.replace("[U/L, ukat/L]", "[U/L, mg/dL]"), ["FOO", "mg/dL"]),  # unit of another kind
        (GOOD.replace("canonical_unit: U/L", "canonical_unit: mmol/L").replace("[U/L, ukat/L]", "[mmol/L, mg/dL]"),
         ["FOO", "molar mass"]),  # molar conversion without molar mass
        (GOOD.replace("canonical_unit: U/L", "canonical_unit: mmol/L").replace("[U/L, ukat/L]", "[mmol/L, mEq/L]"),
         ["FOO", "valence"]),
        (GOOD.replace("category: liver", "category: astrology"), ["FOO", "category"]),
        (GOOD + "    loinc: [ABC]\n", ["FOO", "LOINC"]),
        (GOOD.replace("code: FOO", "code: foo bar"), ["code"]),
        (GOOD + "    ambiguous_in_text: [BAZ]\n", ["FOO", "BAZ", "not names"]),
        # a synonym that already belongs to another analyte
        (GOOD.replace("[foo test]", "[other]") + GOOD.replace("FOO", "BAR").replace("Foo", "Bar").replace("[foo test]", "[Other]"),
         ["other", "BAR", "FOO", "one analyte"]),
    ],
)
def test_bad_entries_are_named(tmp_path, entry, message):
    path = tmp_path / "analytes.yaml"
    path.write_text("analytes:" + entry)
    with pytest.raises(ConfigError) as info:
        load_catalog(path)
    text = str(info.value)
    assert str(path) in text
    for word in message:
        assert word.lower() in text.lower(), (word, text)


def test_duplicate_codes_and_broken_files(tmp_path):
    path = tmp_path / "analytes.yaml"
    path.write_text("analytes:" + GOOD + GOOD.replace("[foo test]", "[foo two]"))
    with pytest.raises(ConfigError, match="FOO is defined twice"):
        load_catalog(path)
    path.write_text("analytes: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_catalog(path)
    path.write_text("things: []\n")
    with pytest.raises(ConfigError, match="analytes"):
        load_catalog(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_catalog(tmp_path / "missing.yaml")


def test_extending_by_data_only(tmp_path):
    """A new analyte needs only a YAML entry: it is found by synonym and converts with its molar mass."""
    path = tmp_path / "analytes.yaml"
    path.write_text(
        DEFAULT_CATALOG.read_text()
        + "\n  - code: AMMONIA\n    name: Ammonia\n    category: liver\n    synonyms: [NH3, ammonia]\n"
        "    canonical_unit: umol/L\n    units: [umol/L, ug/dL]\n    molar_mass: 17.031\n"
    )
    catalog = load_catalog(path)
    ammonia = catalog.get("NH3")
    from labs.units import plan

    assert plan("ug/dL", "umol/L", ammonia).factor == pytest.approx(0.5872, rel=1e-3)
