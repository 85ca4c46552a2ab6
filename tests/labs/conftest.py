"""Fixtures for the labs kernel tests: the real data files under the root conftest's shared_data."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def cdisc_lb_path(shared_data) -> Path:
    path = shared_data / "labs" / "cdisc_pilot01" / "csv" / "sdtm_lb.csv"
    if not path.is_file():
        pytest.fail(f"CDISC Pilot 01 LB data not found at {path}: ../shared must sit beside the repo")
    return path


@pytest.fixture(scope="session")
def miracum_dir(shared_data) -> Path:
    path = shared_data / "reference" / "miracum_loinc_ucum_conversion"
    if not path.is_dir():
        pytest.fail(f"MIRACUM LOINC/UCUM tables not found at {path}")
    return path


@pytest.fixture(scope="session")
def cdisc_lb(cdisc_lb_path):
    import pandas as pd

    return pd.read_csv(cdisc_lb_path, low_memory=False)
