"""The real CDISC Pilot 01 study screened end to end: LB + DM + TI (31 criteria) -> findings, DV, errors."""

from __future__ import annotations

import pytest

from labs.reference_range import ReferenceRange
from reasoning.batch import screen
from reasoning.models import Verdict


def test_ti_becomes_a_protocol_with_lab_rules(cdisc_ti):
    assert len(cdisc_ti.criteria) == 31
    by_label = {c.label: c for c in cdisc_ti.criteria}
    assert by_label["INCL01"].kind.value == "inclusion" and by_label["EXCL31"].kind.value == "exclusion"
    excl27 = by_label["EXCL27"]
    assert excl27.rules == [] and excl27.refers_to == ["Lilly Reference Range III"]
    assert {r.analyte for r in by_label["EXCL28"].rules} >= {"FOLATE", "VITB12", "TSH"}
    hba1c = by_label["EXCL30"].rules
    assert [(r.analyte, r.multiple_of, r.condition_type) for r in hba1c] == [("HBA1C", "ULN", "if")]
    for criterion in cdisc_ti.criteria:  # every criterion's text is its verbatim span of the protocol text
        assert cdisc_ti.text[criterion.char_start:criterion.char_end] == criterion.text


@pytest.mark.slow
def test_cdisc_pilot_screened_end_to_end(cdisc_lab_file, cdisc_ti):
    result = screen(cdisc_lab_file, [cdisc_ti])
    assert result.rows_in == 59580
    assert result.accounted() == 59580  # judged + errors + out of scope, nothing dropped
    assert len(result.patients) == 254
    excl27 = [f for f in result.findings if f.finding.label == "EXCL27"]
    assert len(excl27) == 254
    assert all(f.finding.verdict is Verdict.INDETERMINATE for f in excl27)
    assert all("Lilly Reference Range III" in f.finding.rationale for f in excl27)
    assert {o.analyte for o in excl27[0].finding.observations} <= {"CREAT", "BILI", "AST", "ALT"}
    # every judged lab is a screening lab: on or before the patient's first dose (RFSTDTC)
    for f in result.findings:
        start = cdisc_lab_file.demographics[f.patient_id].reference_start
        assert all(o.date <= start for o in f.finding.observations)
    # the censored values ('<0.2') are row errors with their row number
    assert {e.value for e in result.errors} == {"<0.2", "<40"} and all(e.row > 0 for e in result.errors)


@pytest.mark.slow
def test_lilly_range_supplied_decides_excl27(cdisc_lab_file, cdisc_ti):
    lilly = [ReferenceRange(analyte="ALT", uln=50.0, unit="U/L", lab="Lilly Reference Range III"),
             ReferenceRange(analyte="AST", uln=45.0, unit="U/L", lab="Lilly Reference Range III")]
    result = screen(cdisc_lab_file, [cdisc_ti], reference_ranges=lilly)
    counts = next(c.counts for c in result.criteria if c.label == "EXCL27")
    # ranges for ALT and AST alone cannot clear a patient: the clause also names creatinine and total bilirubin
    assert counts.get("MEETS", 0) == 0 and counts.get("INDETERMINATE", 0) > 200
    undecided = [f for f in result.findings if f.finding.label == "EXCL27" and f.finding.verdict.value == "INDETERMINATE"]
    assert undecided and all(any("no range for CREAT, BILI" in n for n in f.finding.notes) for f in undecided)
    table = cdisc_lab_file.table
    screening = table[(table["analyte"].isin(["ALT", "AST"]))]
    starts = {p: d.reference_start for p, d in cdisc_lab_file.demographics.items()}
    above = set()
    for rec in screening.itertuples():
        if rec.date.date() <= starts[rec.patient_id] and rec.value > (50.0 if rec.analyte == "ALT" else 45.0):
            above.add(rec.patient_id)
    violators = {f.patient_id for f in result.deviations if f.finding.label == "EXCL27"}
    assert above and violators == above and counts.get("VIOLATES", 0) == len(above)


@pytest.mark.slow
def test_dv_term_of_a_combined_criterion_names_the_values_it_rests_on(cdisc_lab_file, cdisc_ti):
    from ui.reports import dv_records

    result = screen(cdisc_lab_file, [cdisc_ti])
    notes = {n for f in result.findings if f.finding.label == "EXCL28" for n in f.finding.notes}
    assert "rules combined as the text joins them: (FOLATE or VITB12) AND (TSH or T4FR)" in notes  # each name once
    excl28 = [r for r in dv_records(result) if r["DVCRITLB"] == "EXCL28"]
    assert excl28, "EXCL28 (low B12 together with abnormal thyroid tests) has deviations in CDISC Pilot 01"
    for record in excl28:
        term = record["DVTERM"]
        assert term.startswith("Exclusion EXCL28: ") and "Exclusion EXCL28: Exclusion" not in term
        assert "VITB12" in term or "FOLATE" in term  # the (folate or B12) part that holds
        assert "does not hold" not in term and len(term) <= 200
