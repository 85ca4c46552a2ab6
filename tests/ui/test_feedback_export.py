"""`trialguard feedback export`: all records as JSONL; with --as-eval, the overrides as eval cases."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from reasoning.models import OverallVerdict
from ui.audit import Action, AuditStore, FlagKind
from ui.feedback_export import OverrideCase


def _fill(store: AuditStore, assessment) -> None:
    overridden = store.submit(assessment, actor="cra").item_id
    store.review(overridden, Action.OVERRIDDEN, actor="Dr Ada", reason="repeat lab normal", new_verdict="NO_DEVIATION")
    confirmed = store.submit(assessment, actor="cra").item_id
    store.review(confirmed, Action.CONFIRMED, actor="Dr Ada")
    # overridden, then confirmed after all: the latest decision wins, it is no eval case
    changed_mind = store.submit(assessment, actor="cra").item_id
    store.review(changed_mind, Action.OVERRIDDEN, actor="Dr Bo", reason="x", new_verdict="NEEDS_REVIEW")
    store.review(changed_mind, Action.CONFIRMED, actor="Dr Bo")
    finding = assessment.findings[0]
    one = store.submit(assessment, actor="cra", finding=finding).item_id
    store.review(one, Action.OVERRIDDEN, actor="Dr Bo", reason="limit is 3x", new_verdict="MEETS")
    flagged = store.submit(assessment, actor="cra").item_id
    store.review(flagged, Action.FLAGGED, actor="Dr Bo", flag_kind=FlagKind.WRONG_CITATION, comment="page 8")


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
    assert len(rows) == 11  # 5 submissions + 6 decisions
    assert {r["action"] for r in rows} == {"submitted", "confirmed", "overridden", "flagged"}
    assert all(r["snapshot"]["protocol_id"] == "TG-ONC-001" for r in rows)

    out = tmp_path / "cases.jsonl"
    result = runner.invoke(app, ["feedback", "export", "--as-eval", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    cases = [OverrideCase.model_validate_json(line) for line in out.read_text().splitlines()]
    assert len(cases) == 2
    whole, finding = cases
    assert whole.expected_overall == OverallVerdict.NO_DEVIATION.value and whole.engine_answer == "DEVIATION"
    assert whole.observations[0].value == 150 and whole.on_date.isoformat() == "2024-03-02"
    assert whole.question.startswith("Patient 1003")
    assert finding.criterion_id == assessment.findings[0].criterion_id
    assert finding.expected_verdict == "MEETS" and finding.engine_answer == "VIOLATES"
    assert finding.reason == "limit is 3x" and finding.reviewer == "Dr Bo"
