"""Specialty analytes that eligibility criteria name (issue 12): haemophilia (FVIII activity and inhibitor), HIV
(CD4), bone/vitamin D, IBD (faecal calprotectin), thyroid C-cell (calcitonin), MDS/AML (blasts), QT safety (QTcB),
menopause (FSH), immunogenicity (anti-drug antibody titre). Names as reports write them, conversions that are
physical facts, and units that must stay unconvertible."""

from __future__ import annotations

import pytest

import labs
from labs.errors import TrialGuardError


@pytest.mark.parametrize(("written", "code"), [
    ("FVIII:C", "FVIII"), ("factor VIII activity", "FVIII"), ("Factor VIII coagulant activity", "FVIII"),
    ("factor VIII inhibitor", "FVIIIINH"), ("FVIII inhibitor titre", "FVIIIINH"),
    ("CD4+ T-cell count", "CD4"), ("absolute CD4 count", "CD4"),
    ("25(OH)D", "VITD25"), ("25-OH vitamin D", "VITD25"), ("25-hydroxyvitamin D", "VITD25"),
    ("erythrocyte sedimentation rate", "ESR"), ("sed rate", "ESR"),
    ("follicle-stimulating hormone", "FSH"), ("faecal calprotectin", "FCALPRO"), ("fecal calprotectin", "FCALPRO"),
    ("calcitonin", "CALCTNN"), ("ionised calcium", "CAION"), ("ionized calcium", "CAION"),
    ("QTcB", "QTCB"), ("Bazett QTc", "QTCB"), ("bone marrow blasts", "BMBLAST"), ("peripheral blasts", "BLASTLE"),
    ("anti-drug antibody titer", "ADATITER"),
])
def test_specialty_analytes_resolve_from_names_as_written(written, code):
    assert labs.analyte(written).code == code


def test_corrected_qt_without_a_formula_keeps_its_old_meaning_and_bazett_is_its_own_analyte():
    # users rely on "QTc" resolving as before; the Bazett correction is a different number for the same ECG
    assert labs.analyte("QTc").code == "QTCF"
    assert labs.analyte("QTcB").code == "QTCB" != labs.analyte("QTcF").code


def test_ionised_calcium_is_not_total_calcium():
    assert labs.analyte("ionized calcium").code != labs.analyte("calcium").code


@pytest.mark.parametrize(("code", "value", "source", "target", "expected"), [
    ("VITD25", 20.0, "ng/mL", "nmol/L", 20.0 / 400.64 * 1000),  # molar mass of 25-hydroxyvitamin D3
    ("VITD25", 75.0, "nmol/L", "ng/mL", 75.0 * 400.64 / 1000),
    ("VITD25", 30.0, "ug/L", "ng/mL", 30.0),
    ("CAION", 1.15, "mmol/L", "mg/dL", 1.15 * 40.08 / 10),
    ("CAION", 2.3, "mEq/L", "mmol/L", 1.15),  # valence 2
    ("CD4", 350.0, "cells/mm3", "10^9/L", 0.35),
    ("CD4", 0.2, "10^9/L", "/uL", 200.0),
    ("FCALPRO", 120.0, "mcg/g", "mg/kg", 120.0),
    ("CALCTNN", 12.0, "pg/mL", "ng/L", 12.0),
    ("FSH", 35.0, "mIU/mL", "IU/L", 35.0),
    ("FVIIIINH", 0.8, "BU/mL", "BU/L", 800.0),
    ("ESR", 25.0, "mm/hr", "mm/h", 25.0),
    ("QTCB", 0.46, "s", "ms", 460.0),
])
def test_conversions_that_are_physical_facts(code, value, source, target, expected):
    assert labs.convert(value, source, target, labs.analyte(code)) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(("code", "source", "target"), [
    ("FVIIIINH", "BU/mL", "%"),         # an assay-defined unit converts to nothing else
    ("FVIIIINH", "BU/mL", "IU/mL"),
    ("FVIII", "%", "IU/dL"),            # % of normal plasma vs the WHO standard: not a unit factor
    ("VITD25", "ng/mL", "IU/L"),
    ("ADATITER", "1", "mg/L"),          # a reciprocal dilution is not a concentration
    ("FSH", "IU/L", "ng/mL"),           # WHO units of a reference preparation have no mass
    ("ESR", "mm/h", "mg/L"),
])
def test_units_that_are_not_convertible_stay_unconvertible(code, source, target):
    with pytest.raises(TrialGuardError):
        labs.convert(1.0, source, target, labs.analyte(code))


def test_bethesda_units_read_and_keep_their_own_dimension():
    assert labs.parse_unit("BU/mL") == "BU/mL"
    assert labs.parse_unit("bu/ml") == "BU/mL"  # not a bushel per millilitre
    with pytest.raises(TrialGuardError):
        labs.convert(1.0, "BU/mL", "mL", None)
