"""The SDTM CSV fast path (pyarrow; text kept as codes into its distinct values up to the LabFile table) reads
exactly what the plain-text path reads, and a file it cannot take still reads, through the plain-text path."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import ingest.patients.sdtm as sdtm
from ingest.patients import read_lab_file
from ingest.patients.normalize import _combine


def _plain(table: pd.DataFrame) -> pd.DataFrame:
    coded = [c for c in table.columns if isinstance(table[c].dtype, pd.CategoricalDtype)]
    return table.astype({c: object for c in coded})


def test_fast_and_plain_text_readers_agree_on_cdisc_pilot(cdisc, monkeypatch):
    real, read = sdtm._read_csv_coded, []
    monkeypatch.setattr(sdtm, "_read_csv_coded", lambda path, columns: read.append(path.name) or real(path, columns))
    fast = read_lab_file(cdisc / "sdtm_lb.csv")
    assert read == ["sdtm_lb.csv", "sdtm_dm.csv"]  # LB and DM both came through the fast path

    def refuse(path, columns):  # what pyarrow raises for a file it cannot parse
        raise ValueError(f"{path.name}: refused")

    monkeypatch.setattr(sdtm, "_read_csv_coded", refuse)
    text = read_lab_file(cdisc / "sdtm_lb.csv")
    pd.testing.assert_frame_equal(_plain(fast.table), _plain(text.table))
    assert fast.errors == text.errors and fast.warnings == text.warnings
    assert fast.out_of_scope == text.out_of_scope and fast.demographics == text.demographics
    assert (fast.rows_in, fast.study_id, fast.notes, fast.files) == (text.rows_in, text.study_id, text.notes, text.files)
    assert fast.accounted() == fast.rows_in == 59580


def test_text_in_a_numeric_column_falls_back_and_reports_the_row(tmp_path):
    lb = tmp_path / "lb.csv"
    lb.write_text(
        "\ufeffSTUDYID,USUBJID,LBTESTCD,LBTEST,LBORRES,LBORRESU,LBSTRESN,LBSTRESU,LBSTNRHI,LBDTC\n"
        'S1,S1-001,ALT,"Alanine Aminotransferase, serum",65,U/L,65,U/L,40,2024-01-02\n'
        "S1,S1-001,AST,Aspartate Aminotransferase,<5,U/L,<5,U/L,40,2024-01-02\n"
        "S1,S1-002,ALT,Alanine Aminotransferase,30,U/L,30,U/L,40,2024-01-03\n",
        encoding="utf-8",
    )
    lab = read_lab_file(lb, format="sdtm")
    assert lab.study_id == "S1" and lab.rows_in == 3
    assert lab.table["value"].tolist() == [65.0, 30.0] and lab.table["uln"].tolist() == [40.0, 40.0]
    assert [(e.row, e.field) for e in lab.errors] == [(2, "value")] and "'<5'" in lab.errors[0].reason


def test_bom_quoted_commas_and_blank_cells_on_the_fast_path(tmp_path):
    lb = tmp_path / "lb.csv"
    lb.write_text(
        "\ufeffUSUBJID,LBTESTCD,LBTEST,LBORRES,LBORRESU,LBSTRESN,LBSTRESU,LBSTNRHI,LBDTC,VISIT\n"
        'P1,ALT,"ALT, serum",65,U/L,65,U/L,40,2024-01-02,SCREENING 1\n'
        "P1,CREAT,Creatinine,1.1,mg/dL,,,,2024-01-02,\n"
        ",ALT,ALT,12,U/L,12,U/L,40,2024-01-02,SCREENING 1\n",
        encoding="utf-8",
    )
    lab = read_lab_file(lb, format="sdtm")
    rows = lab.table.set_index("row")
    assert rows.loc[1, "uln"] == 40.0 and rows.loc[1, "raw_test"] == "ALT" and rows.loc[1, "visit"] == "SCREENING 1"
    assert rows.loc[2, "value"] == 1.1 and rows.loc[2, "unit"] == "mg/dL" and np.isnan(rows.loc[2, "uln"])
    assert rows.loc[2, "visit"] == ""
    assert [(e.row, e.reason) for e in lab.errors] == [(3, "missing patient id")]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2**40), st.integers(0, 5)), max_size=60))
def test_combine_codes_each_distinct_combination_once(rows):
    columns = [np.array([r[k] for r in rows], dtype=np.int64) for k in range(3)]
    codes, first = _combine(*columns)
    first_seen: dict[tuple, int] = {}
    for i, key in enumerate(rows):
        first_seen.setdefault(key, i)
    assert first.tolist() == sorted(first_seen.values())  # the row where each combination first appears
    for i, key in enumerate(rows):
        assert first[codes[i]] == first_seen[key]  # same code exactly when same combination
