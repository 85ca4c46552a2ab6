"""The real CDISC Pilot 01 lab data: our conversions must reproduce the study's own standardised results.

Every row whose LBORRES and LBSTRESN are numeric is converted from LBORRESU to LBSTRESU with LBTESTCD as the
analyte and compared with LBSTRESN. Rows are grouped by (test, unit pair) so each group is one vectorised call.
"""

from __future__ import annotations

import pandas as pd
import pytest

import labs
from eval import conversion_eval
from labs.errors import TrialGuardError


def test_cdisc_pilot01_conversions_agree_with_lbstresn(cdisc_lb_path):
    result = conversion_eval.run(path=cdisc_lb_path)
    total, unitless = result.counts["rows_compared"], result.counts["rows_without_units"]
    print(f"\nCDISC Pilot 01 LB: {result.counts['rows_agreeing']} of {total} numeric rows agree "
          f"({result.metrics['agreement']:.4%}); {total - unitless} converted between units, {unitless} without a "
          "unit on either side (pH, specific gravity, grades) compared as-is")
    for problem in result.misses:
        print("  disagreement:", problem)
    assert total > 55_000  # the file has 59,580 rows, 58,700 of them numeric on both sides
    assert total - unitless > 50_000
    assert result.metrics["agreement"] >= 0.995, f"first problems: {result.misses[:10]}"


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
    with pytest.raises(TrialGuardError) as info:  # mg/dL -> U/L for ALT must fail
        labs.convert(sample, "mg/dL", "U/L", "ALT")
    assert "ALT" in str(info.value) and "mg/dL" in str(info.value) and "U/L" in str(info.value)
