"""`trialguard feedback export`: all records as JSONL; with --as-eval, overrides as eval GoldCases."""

from __future__ import annotations

import json

from conftest import make_criterion
from typer.testing import CliRunner

from eval.verdict_eval import GoldCase
from reasoning.evaluate import judge_criterion
from reasoning.models import Verdict
from ui.audit import Action, AuditStore, FlagKind


def _fill(store: AuditStore, assessment) -> None:
    criteria = [make_criterion()]
    finding = assessment.findings[0]
    # 1. whole assessment overridden with the reviewer's verdict for its criterion: one case
    a = store.submit(assessment, actor="cra", criteria=criteria).item_id
    store.review(a, Action.OVERRIDDEN, actor="Dr Ada", reason="limit is 3x ULN per letter", new_verdict="NO_DEVIATION",
                 finding_verdicts={finding.criterion_id: "MEETS"})
    # 2. confirmed: no case
    b = store.submit(assessment, actor="cra", criteria=criteria).item_id
    store.review(b, Action.CONFIRMED, actor="Dr Ada")
    # 3. overridden, then confirmed after all: the latest decision wins, no case
    c = store.submit(assessment, actor="cra", criteria=criteria).item_id
    store.review(c, Action.OVERRIDDEN, actor="Dr Bo", reason="x", new_verdict="NEEDS_REVIEW")
    store.review(c, Action.CONFIRMED, actor="Dr Bo")
    # 4. one finding overridden: one case
    d = store.submit(assessment, actor="cra", finding=finding, criteria=criteria).item_id
    store.review(d, Action.OVERRIDDEN, actor="Dr Bo", reason="repeat ALT normal", new_verdict="INDETERMINATE")
    # 5. flagged: no case
    e = store.submit(assessment, actor="cra").item_id
    store.review(e, Action.FLAGGED, actor="Dr Bo", flag_kind=FlagKind.WRONG_CITATION, comment="page 8")
    # 6. overall override without per-criterion verdicts: skipped, said so
    f = store.submit(assessment, actor="cra", criteria=criteria).item_id
    store.review(f, Action.OVERRIDDEN, actor="Dr Bo", reason="y", new_verdict="NEEDS_REVIEW")


def test_export_all_and_as_eval(tmp_path, monkeypatch, assessment):
    monkeypatch.setenv("TRIALGUARD_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TRIALGUARD_DB_URL", raising=False)
    from ui.audit import open_store
    from ui.cli import app
    from ui.settings import Settings

    _fill(open_store(Settings()), assessment)
    runner = CliRunner()

    result = runner.invoke(app, ["feedback", "export"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 13  # 6 submissions + 7 decisions
    assert {r["action"] for r in rows} == {"submitted", "confirmed", "overridden", "flagged"}
    assert all(r["snapshot"]["protocol_id"] == "TG-ONC-001" for r in rows)
    assert rows[0]["before"]["criteria"]["TG-ONC-001:1.0:exclusion:4"]["rules"][0]["value"] == 2.5

    out = tmp_path / "cases.jsonl"
    result = runner.invoke(app, ["feedback", "export", "--as-eval", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "without a verdict per criterion" in result.stderr
    cases = [GoldCase.model_validate_json(line) for line in out.read_text().splitlines()]
    assert [c.expected for c in cases] == [Verdict.MEETS, Verdict.INDETERMINATE]
    first = cases[0]
    assert first.source == "reviewer_override" and first.label == "4" and first.kind.value == "exclusion"
    assert first.observations[0].value == 150 and first.on_date.isoformat() == "2024-03-02"
    assert "Dr Ada" in first.why and "3x ULN" in first.why
    # the case runs in the exact engine as eval would run it; the engine still says VIOLATES: a real regression
    criterion = first.criterion()
    engine = judge_criterion(criterion, first.observations, first.demographics, [], first.on_date)
    assert engine.verdict is Verdict.VIOLATES
