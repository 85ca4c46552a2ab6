"""Derived values against worked examples of their published formulas."""

from __future__ import annotations

import pytest

from labs import derived
from labs.errors import TrialGuardError
from labs.observation import Sex


# ------------------------------------------------------------------------------ Cockcroft-Gault (Nephron 1976)
@pytest.mark.parametrize(
    "age,weight,sex,cr,unit,expected",
    [
        (65, 70, "M", 1.2, "mg/dL", 60.76),  # (140-65) x 70 / (72 x 1.2): the usual textbook example
        (40, 72, "M", 1.0, "mg/dL", 100.0),  # (140-40) x 72 / 72
        (72, 72, Sex.MALE, 1.0, "mg/dL", 68.0),  # (140-72) x 72 / 72 = 68 (not 72: age enters as 140 - age)
        (60, 60, "F", 1.2, "mg/dL", 47.22),  # 80 x 60 / 86.4 = 55.56, x 0.85
        (40, 72, "M", 88.4, "umol/L", 100.0),  # same patient as above, creatinine in SI units
        (40, 72, "male", 88.4, "µmol/L", 100.0),
    ],
)
def test_cockcroft_gault(age, weight, sex, cr, unit, expected):
    assert derived.cockcroft_gault(age, weight, sex, cr, unit) == pytest.approx(expected, rel=2e-3)


def test_cockcroft_gault_female_is_085_of_male():
    male = derived.cockcroft_gault(50, 80, "M", 0.9, "mg/dL")
    assert derived.cockcroft_gault(50, 80, "F", 0.9, "mg/dL") == pytest.approx(0.85 * male)


# ------------------------------------------------------------------------------ CKD-EPI 2021 (NEJM 2021)
@pytest.mark.parametrize(
    "cr,unit,age,sex,expected",
    [
        # 142 x (1.0/0.9)^-1.200 x 0.9938^50 = 91.7 (NKF calculator: 92)
        (1.0, "mg/dL", 50, "M", 91.7),
        # 142 x (1.0/0.7)^-1.200 x 0.9938^50 x 1.012 = 68.6 (NKF calculator: 69)
        (1.0, "mg/dL", 50, "F", 68.6),
        # below kappa: 142 x (0.8/0.9)^-0.302 x 0.9938^60 = 101.3
        (0.8, "mg/dL", 60, "M", 101.3),
        # 142 x (0.6/0.7)^-0.241 x 0.9938^30 x 1.012 = 147.38 x 0.8298 x 1.012 = 123.8
        (0.6, "mg/dL", 30, "F", 123.8),
        # 2.0 mg/dL in SI: 176.8 umol/L, 70-year-old man: 142 x (2/0.9)^-1.2 x 0.9938^70 = 142 x 0.3836 x 0.6471 = 35.2
        (176.8, "umol/L", 70, "M", 35.2),
    ],
)
def test_ckd_epi_2021(cr, unit, age, sex, expected):
    assert derived.ckd_epi_2021(cr, unit, age, sex) == pytest.approx(expected, abs=0.15)


def test_ckd_epi_2021_is_continuous_at_kappa():
    at = derived.ckd_epi_2021(0.9, "mg/dL", 45, "M")
    assert derived.ckd_epi_2021(0.9 - 1e-9, "mg/dL", 45, "M") == pytest.approx(at)
    assert at == pytest.approx(142 * 0.9938**45)


def test_ckd_epi_2021_refuses_children():
    with pytest.raises(TrialGuardError, match="adults"):
        derived.ckd_epi_2021(0.5, "mg/dL", 12, "F")


# ------------------------------------------------------------------------------ ANC
@pytest.mark.parametrize(
    "wbc,wbc_unit,neut,neut_unit,expected",
    [
        (5.0, "10^9/L", 60, "%", 3.0),
        (5000, "/uL", 60, "%", 3.0),
        (4.2, "THOU/uL", 0.35, "1", 1.47),  # neutrophils given as a fraction
        (2.0, "x10^9/L", 25, "%", 0.5),
    ],
)
def test_anc(wbc, wbc_unit, neut, neut_unit, expected):
    assert derived.anc(wbc, neut, wbc_unit=wbc_unit, neutrophil_unit=neut_unit) == pytest.approx(expected)


def test_anc_rejects_impossible_percentages():
    with pytest.raises(TrialGuardError, match="between 0 and 100"):
        derived.anc(5.0, 160)
    with pytest.raises(TrialGuardError, match="between 0 and 100"):
        derived.anc(5.0, 60, neutrophil_unit="1")  # 60 as a fraction is 6000 %


# ------------------------------------------------------------------------------ corrected calcium (Payne, BMJ 1973)
def test_corrected_calcium_conventional():
    # 8.0 + 0.8 x (4.0 - 2.5) = 9.2 mg/dL
    assert derived.corrected_calcium(8.0, 2.5) == pytest.approx(9.2)
    assert derived.corrected_calcium(10.0, 4.0) == pytest.approx(10.0)


def test_corrected_calcium_si():
    # SI form: 2.10 + 0.02 x (40 - 30) = 2.30 mmol/L (0.8 mg/dL per g/dL is 0.01996 mmol/L per g/L)
    result = derived.corrected_calcium(2.10, 30, calcium_unit="mmol/L", albumin_unit="g/L")
    assert result == pytest.approx(2.30, abs=0.002)


@pytest.mark.parametrize(
    "call",
    [
        lambda: derived.cockcroft_gault(-1, 70, "M", 1.0),
        lambda: derived.cockcroft_gault(50, 0, "M", 1.0),
        lambda: derived.cockcroft_gault(50, 70, "X", 1.0),
        lambda: derived.cockcroft_gault(50, 70, "M", 1.0, "U/L"),
        lambda: derived.ckd_epi_2021(float("nan"), "mg/dL", 50, "M"),
        lambda: derived.corrected_calcium(2.1, 30, calcium_unit="mmol/L", albumin_unit="U/L"),
    ],
)
def test_bad_inputs_raise_our_errors(call):
    with pytest.raises(TrialGuardError):
        call()
