"""Values that criteria use but labs do not always report: creatinine clearance, eGFR, ANC, corrected calcium.

Each function takes values with their units (converted through labs.convert, so umol/L or mg/dL both work) and
raises a TrialGuardError subclass for input that cannot give a meaningful result, never a silent guess.
"""

from __future__ import annotations

import math

from labs.conversion import convert
from labs.errors import TrialGuardError
from labs.observation import Sex


class DerivedValueError(TrialGuardError):
    """Inputs outside what a formula is defined for (negative weight, neutrophils above 100 %, ...)."""


def _sex(sex: Sex | str) -> Sex:
    if isinstance(sex, Sex):
        return sex
    text = str(sex).strip().upper()
    if text in ("M", "MALE"):
        return Sex.MALE
    if text in ("F", "FEMALE"):
        return Sex.FEMALE
    raise DerivedValueError(f"sex must be M or F, got {sex!r}")


def _positive(name: str, value: float, upper: float | None = None) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DerivedValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number <= 0 or (upper is not None and number > upper):
        limit = f" and at most {upper:g}" if upper is not None else ""
        raise DerivedValueError(f"{name} must be a positive number{limit}, got {value!r}")
    return number


def _creatinine_mg_dl(creatinine: float, unit: str) -> float:
    """Serum creatinine in mg/dL, the unit both renal formulas are stated in."""
    return _positive("creatinine", convert(_positive("creatinine", creatinine), unit, "mg/dL", "CREAT"))


def cockcroft_gault(
    age_years: float, weight_kg: float, sex: Sex | str, creatinine: float, creatinine_unit: str = "mg/dL"
) -> float:
    """Creatinine clearance in mL/min by Cockcroft-Gault:

        CrCl = (140 - age) x weight[kg] / (72 x SCr[mg/dL])   (x 0.85 for women)

    Source: Cockcroft DW, Gault MH. Prediction of creatinine clearance from serum creatinine.
    Nephron 1976;16(1):31-41. Weight is the weight the protocol specifies (usually actual body weight).
    """
    age = _positive("age_years", age_years, 130)
    weight = _positive("weight_kg", weight_kg, 500)
    scr = _creatinine_mg_dl(creatinine, creatinine_unit)
    clearance = (140.0 - age) * weight / (72.0 * scr)
    return clearance * 0.85 if _sex(sex) is Sex.FEMALE else clearance


def ckd_epi_2021(creatinine: float, creatinine_unit: str, age_years: float, sex: Sex | str) -> float:
    """eGFR in mL/min/1.73m2 by the race-free CKD-EPI 2021 creatinine equation:

        eGFR = 142 x min(SCr/k, 1)^a x max(SCr/k, 1)^-1.200 x 0.9938^age x 1.012 [if female]
        k = 0.7 (F) / 0.9 (M);  a = -0.241 (F) / -0.302 (M);  SCr in mg/dL

    Source: Inker LA, Eneanya ND, Coresh J, et al. New creatinine- and cystatin C-based equations to estimate
    GFR without race. N Engl J Med 2021;385:1737-49 (as used by the NKF eGFR calculator). Adults only.
    """
    age = _positive("age_years", age_years, 130)
    if age < 18:
        raise DerivedValueError(f"CKD-EPI 2021 is defined for adults (age >= 18), got {age:g}")
    scr = _creatinine_mg_dl(creatinine, creatinine_unit)
    female = _sex(sex) is Sex.FEMALE
    kappa, alpha = (0.7, -0.241) if female else (0.9, -0.302)
    ratio = scr / kappa
    egfr = 142.0 * min(ratio, 1.0) ** alpha * max(ratio, 1.0) ** -1.200 * 0.9938**age
    return egfr * 1.012 if female else egfr


def anc(wbc: float, neutrophil_pct: float, *, wbc_unit: str = "10^9/L", neutrophil_unit: str = "%") -> float:
    """Absolute neutrophil count in 10^9/L: ANC = WBC x neutrophils / 100 (neutrophils as %), or WBC x fraction
    when `neutrophil_unit` is "1". Include bands in `neutrophil_pct` when the protocol counts them.

    Source: standard haematology definition (e.g. NCI CTCAE v5.0, "neutrophil count decreased"); the
    percentage is the differential's neutrophil share of leukocytes.
    """
    count = convert(_positive("wbc", wbc), wbc_unit, "10^9/L", "WBC")
    share = convert(float(neutrophil_pct), neutrophil_unit, "1", "NEUTLE")
    if not math.isfinite(share) or not 0.0 <= share <= 1.0:
        raise DerivedValueError(
            f"neutrophils must be between 0 and 100 % (0 and 1 as a fraction), got {neutrophil_pct!r} {neutrophil_unit}"
        )
    return count * share


def corrected_calcium(
    calcium: float,
    albumin: float,
    *,
    calcium_unit: str = "mg/dL",
    albumin_unit: str = "g/dL",
    normal_albumin_g_dl: float = 4.0,
) -> float:
    """Albumin-corrected calcium in `calcium_unit` by Payne's formula:

        Ca_corr[mg/dL] = Ca + 0.8 x (4.0 - albumin[g/dL])
        (SI form: Ca_corr[mmol/L] = Ca + 0.02 x (40 - albumin[g/L]); 0.8 mg/dL per g/dL = 0.01996 mmol/L per g/L)

    Source: Payne RB, Little AJ, Williams RB, Milner JR. Interpretation of serum calcium in patients with
    abnormal serum proteins. BMJ 1973;4(5893):643-6.
    """
    ca = convert(_positive("calcium", calcium), calcium_unit, "mg/dL", "CA")
    alb = convert(_positive("albumin", albumin), albumin_unit, "g/dL", "ALB")
    corrected = ca + 0.8 * (normal_albumin_g_dl - alb)
    return convert(corrected, "mg/dL", calcium_unit, "CA")
