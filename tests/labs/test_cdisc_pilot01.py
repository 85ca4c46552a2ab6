"""The real CDISC Pilot 01 lab data: our conversions must reproduce the study's own standardised results.

Every row whose LBORRES and LBSTRESN are numeric is converted from LBORRESU to LBSTRESU with LBTESTCD as the
analyte and compared with LBSTRESN. Rows are grouped by (test, unit pair) so each group is one vectorised call.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import labs
from labs.errors import TrialGuardError

NO_UNIT = {"NO UNITS", ""}


def _agreement(df: pd.DataFrame) -> tuple[int, int, int, list[str]]:
    orres = pd.to_numeric(df["LBORRES"], errors="coerce")
    rows = df.assign(orres=orres)[orres.notna() & df["LBSTRESN"].notna()]
    agree = 0
    unitless = 0
    problems: list[str] = []
    groups = rows.groupby(["LBTESTCD", rows["LBORRESU"].fillna(""), rows["LBSTRESU"].fillna("")], sort=True)
    for (testcd, src, dst), group in groups:
        original = group["orres"].to_numpy(float)
        expected = group["LBSTRESN"].to_numpy(float)
        if src.strip().upper() in NO_UNIT and dst.strip() == "":
            # No unit on either side (pH, specific gravity, ordinal grades): nothing to convert, and labs must
            # refuse to invent one; the standardised value must equal the original.
            try:
                labs.convert(1.0, src or None, dst or None, testcd)
            except TrialGuardError:
                pass
            else:
                problems.append(f"{testcd} {src!r}->{dst!r}: converted although no unit was given")
            converted = original
            unitless += len(group)
            reason = "unitless value changed in standardisation"
        else:
            try:
                converted = labs.convert(original, src, dst, testcd)
            except TrialGuardError as exc:
                problems.append(f"{testcd} {src}->{dst}: {len(group)} rows not converted: {exc}")
                continue
            reason = "converted value differs by more than 1 % (and the file's rounding)"
        # the file rounds LBSTRESN; allow 1 % or half a unit of the last printed digit, whichever is larger
        decimals = group["LBSTRESC"].astype(str).str.extract(r"\.(\d+)$")[0].str.len().fillna(0).to_numpy()
        rounding = 0.5 * 10.0 ** (-decimals)
        ok = np.abs(converted - expected) <= np.maximum(0.01 * np.abs(expected), rounding)
        agree += int(ok.sum())
        for i in np.flatnonzero(~ok):
            row = group.iloc[i]
            problems.append(
                f"{testcd} {row['USUBJID']} seq {row['LBSEQ']}: {row['LBORRES']} {src} -> {converted[i]:.6g} {dst}, "
                f"file says {expected[i]:g}: {reason}"
            )
    return agree, len(rows), unitless, problems


def test_cdisc_pilot01_conversions_agree_with_lbstresn(cdisc_lb):
    agree, total, unitless, problems = _agreement(cdisc_lb)
    share = agree / total
    print(f"\nCDISC Pilot 01 LB: {agree} of {total} numeric rows agree ({share:.4%}); {total - unitless} converted "
          f"between units, {unitless} without a unit on either side (pH, specific gravity, grades) compared as-is")
    for problem in problems:
        print("  disagreement:", problem)
    assert total > 55_000  # the file has 59,580 rows, 58,700 of them numeric on both sides
    assert total - unitless > 50_000
    assert share >= 0.995, f"only {share:.3%} agree; first problems: {problems[:10]}"


def test_every_lbtestcd_and_lbtest_resolves(cdisc_lb):
    pairs = cdisc_lb[["LBTESTCD", "LBTEST"]].drop_duplicates()
    for code, name in pairs.itertuples(index=False):
        assert labs.analyte(code).code == code
        assert labs.analyte(name).code == code, f"LBTEST {name!r} does not resolve to {code}"


def test_derived_factor_table_matches_catalog(shared_data):
    """Our factors reproduce the conventional->SI factors implied by the file (DERIVED_conversion_factors_from_LB)."""
    table = pd.read_csv(shared_data / "labs" / "cdisc_pilot01" / "DERIVED_conversion_factors_from_LB.csv")
    for row in table.itertuples(index=False):
        ours = labs.conversion_for(row.conventional_unit, row.SI_unit, row.LBTESTCD).factor
        assert abs(ours / row.factor_conv_to_SI_median - 1) < 0.001, (row.LBTESTCD, ours, row.factor_conv_to_SI_median)


def test_a_wrong_unit_in_the_data_is_reported_not_converted(cdisc_lb):
    sample = cdisc_lb[cdisc_lb["LBTESTCD"] == "ALT"]["LBORRES"].astype(float).to_numpy()[:100]
    try:
        labs.convert(sample, "mg/dL", "U/L", "ALT")
    except TrialGuardError as exc:
        assert "ALT" in str(exc) and "mg/dL" in str(exc) and "U/L" in str(exc)
    else:
        raise AssertionError("mg/dL -> U/L for ALT must fail")
