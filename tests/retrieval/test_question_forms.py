"""Every question form of question_forms.yaml reads as a person would read it (issue #20: questions as CRAs write
them). The table is data; the assertions are the same for every form."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from retrieval.question import parse_question

FORMS = yaml.safe_load((Path(__file__).with_name("question_forms.yaml")).read_text(encoding="utf-8"))["forms"]


def test_the_table_is_large_and_covers_each_demo_protocol():
    assert len(FORMS) >= 40
    assert {f["protocol"] for f in FORMS} == {"TG-ONC-001", "TG-T2D-002", "TG-HEP-003"}
    assert any(f.get("unread") for f in FORMS) and sum(not f.get("unread") for f in FORMS) >= 30


@pytest.mark.parametrize("form", FORMS, ids=[f["text"] for f in FORMS])
def test_form_reads_as_written(form):
    q = parse_question(form["text"])
    assert q.patient_id == form["patient"]
    expected_date = form["date"]
    assert q.date == (expected_date if isinstance(expected_date, dt.date) or expected_date is None
                      else dt.date.fromisoformat(expected_date))
    got = [[o.analyte, o.value, o.unit, o.uln] for o in q.observations]
    assert got == [[a, float(v), u, None if uln is None else float(uln)] for a, v, u, uln in form["values"]], q.problems
    assert bool(q.unread) == bool(form.get("unread")), q.unread
    assert set(q.unread) <= set(q.problems)
