"""Benchmark: vectorised unit conversion throughput (values/s) on numpy arrays of 1M values.

The factor is planned once per (units, analyte) and cached, so a batch conversion is one multiply (plus one add
for affine scales such as HbA1c NGSP -> IFCC). Reports medians of several runs.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

import labs

CASES = [
    ("CREAT", "mg/dL", "umol/L"),  # molar conversion
    ("PLAT", "THOU/uL", "10^9/L"),  # count multiplier
    ("HBA1C", "%", "mmol/mol"),  # affine special conversion
]


def _median_seconds(fn, runs: int) -> float:
    fn()  # warm: plan the conversion, touch the memory
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(n_values: int = 1_000_000, runs: int = 7) -> dict:
    values = np.random.default_rng(0).uniform(0.3, 12.0, n_values)
    result: dict = {"n_values": n_values, "runs": runs}
    for code, src, dst in CASES:
        seconds = _median_seconds(lambda: labs.convert(values, src, dst, code), runs)
        result[f"{code} {src}->{dst} values_per_s"] = round(n_values / seconds)
    scalar_n = 20_000
    seconds = _median_seconds(lambda: [labs.convert(1.0, "mg/dL", "umol/L", "CREAT") for _ in range(scalar_n)], 3)
    result["scalar conversions_per_s"] = round(scalar_n / seconds)
    # first-time cost: normalise spellings and plan a conversion never seen before (cache cleared)
    from labs import units

    def cold() -> None:
        units._PLANS.clear()
        units._normalise.cache_clear()
        units._quantity.cache_clear()
        labs.convert(1.0, "µmol/L", "MG/DL", "CREAT")

    result["cold plan_ms"] = round(_median_seconds(cold, 5) * 1000, 3)
    result["values_per_s"] = min(v for k, v in result.items() if k.endswith("values_per_s"))
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
