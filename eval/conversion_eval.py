"""Unit conversion against the real CDISC Pilot 01 labs: LBORRES in LBORRESU -> LBSTRESU must equal LBSTRESN.

Each (test, original unit, standard unit) group converts with one vectorized call; a row agrees when it is within
1 % of the file's value or within the file's own rounding (half a unit of its last printed decimal). Rows with no
unit on either side (pH, specific gravity, ordinal grades) have nothing to convert: labs must refuse to invent a
unit for them, and the standard value must equal the original.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import labs
from eval.result import SuiteResult
from labs.errors import TrialGuardError

CDISC_LB = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "labs" / "cdisc_pilot01" / "csv" / "sdtm_lb.csv"


NO_UNIT = {"NO UNITS", ""}


def _decimals(text: pd.Series) -> np.ndarray:
    parts = text.str.split(".", n=1, expand=True)
    if parts.shape[1] == 1:
        return np.zeros(len(text))
    return parts[1].fillna("").str.len().to_numpy()


def run(fast: bool = False, path: Path = CDISC_LB) -> SuiteResult:
    lb = pd.read_csv(path, dtype=str, keep_default_na=False)
    orig = pd.to_numeric(lb["LBORRES"], errors="coerce")
    std = pd.to_numeric(lb["LBSTRESN"], errors="coerce")
    rows = lb[orig.notna() & std.notna()].assign(orig=orig, std=std)
    agreed, total, unitless, misses = 0, 0, 0, []
    for (test, from_unit, to_unit), group in rows.groupby(["LBTESTCD", "LBORRESU", "LBSTRESU"], sort=True):
        total += len(group)
        if from_unit.strip().upper() in NO_UNIT and not to_unit.strip():
            unitless += len(group)
            try:
                labs.convert(1.0, from_unit or None, None, analyte=test)
            except TrialGuardError:
                got = group["orig"].to_numpy()
            else:
                misses.append(f"{test}: {len(group)} rows converted although no unit was given")
                continue
        else:
            try:
                got = np.asarray(labs.convert(group["orig"].to_numpy(), from_unit, to_unit, analyte=test), dtype=float)
            except TrialGuardError as exc:
                misses.append(f"{test} {from_unit!r} -> {to_unit!r}: {len(group)} rows not converted: {exc}")
                continue
        expected = group["std"].to_numpy()
        # The file rounds the standard value; accept 1 % or half a unit of the last printed digit.
        tolerance = np.maximum(0.01 * np.abs(expected), 0.5 * 10.0 ** -_decimals(group["LBSTRESN"]))
        ok = np.abs(got - expected) <= tolerance + 1e-12
        agreed += int(ok.sum())
        for idx in np.flatnonzero(~ok)[:5]:
            row = group.iloc[idx]
            misses.append(f"{test} row LBSEQ={row['LBSEQ']} {row['USUBJID']}: {row['orig']} {from_unit} -> "
                          f"{got[idx]:.4g} {to_unit}, file says {row['std']}")
    return SuiteResult(
        suite="conversion",
        metrics={"agreement": agreed / total if total else 0.0},
        counts={"rows_compared": total, "rows_agreeing": agreed, "rows_without_units": unitless, "rows_in_file": len(lb)},
        misses=misses,
    )
