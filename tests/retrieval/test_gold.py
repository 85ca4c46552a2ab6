"""The retrieval gold set over the demo and real protocols, version selection, and the CLI on the same store."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from eval.retrieval_eval import evaluate
from retrieval.errors import NoVersionInForceError
from retrieval.question import parse_question
from ui.cli import app

pytestmark = pytest.mark.slow


def test_gold_recall(gold_store, gold):
    _, index, _ = gold_store
    assert len(gold.questions) >= 60
    metrics = evaluate(index, gold.questions, k=5)
    report = "\n".join(metrics.misses)
    assert metrics.rule_recall == 1.0, report
    assert metrics.recall_at_k >= 0.98, report
    assert metrics.version_accuracy == 1.0, report
    # the set exercises the hybrid half, not only payload filters
    assert metrics.gold_pairs - metrics.rule_pairs >= 10


def _inclusion_5(index, question: str):
    parsed = parse_question(question)
    hits = index.search(parsed.observations, "TG-ONC-001", on_date=parsed.date)
    return next(c for c in hits if c.criterion.kind.value == "inclusion" and c.criterion.label == "5")


def test_the_amendment_applies_from_its_effective_date(gold_store):
    _, index, _ = gold_store
    before = _inclusion_5(index, "ANC 1.2 x10^9/L on 2024-05-31")
    after = _inclusion_5(index, "ANC 1.2 x10^9/L on 2024-06-01")
    assert before.criterion.version == "1.0" and "1.5 × 10" in before.criterion.text
    assert after.criterion.version == "2.0" and "1.0 × 10" in after.criterion.text
    assert "rule on NEUT" in before.why and "rule on NEUT" in after.why
    # the page cited is the page of the version searched
    assert index.protocol("TG-ONC-001", "2.0").pages[after.criterion.page_start - 1].text.count("1.0 × 10") >= 1
    with pytest.raises(NoVersionInForceError):
        index.version_in_force("TG-ONC-001", dt.date(2023, 12, 31))


def test_cli_ingest_is_idempotent_and_lists_protocols(gold_store):
    _, index, first_output = gold_store
    assert "TG-ONC-001 2.0 (effective 2024-06-01)" in first_output and "segments" in first_output
    before = index.client.count(index.collection, exact=True).count
    again = CliRunner().invoke(app, ["ingest", "protocols"])  # a folder with a manifest.yaml
    assert again.exit_code == 0, again.output
    assert again.output.count("ALREADY INGESTED (same file)") == 4  # issue 20 item 7: said, not "skipped"
    assert index.client.count(index.collection, exact=True).count == before
    # the manifest's lab manual travels with each version, so ULN-multiple rules work on labs without a ULN
    assert {r.analyte for r in index.protocol("TG-ONC-001", "2.0").reference_ranges} >= {"ALT", "AST", "BILI"}
    listed = CliRunner().invoke(app, ["protocols"])
    assert listed.exit_code == 0, listed.output
    for needle in ("TG-ONC-001", "2024-06-01", "TG-HEP-003", "NCT02296125", "NCT06158269"):
        assert needle in listed.output


def test_cli_refuses_version_options_with_a_manifest(gold_store):
    result = CliRunner().invoke(app, ["ingest", "protocols/manifest.yaml", "--version", "3"])
    assert result.exit_code == 2 and "manifest carries its own" in result.output


def test_cli_ingest_one_file_with_metadata(gold_store, tmp_path):
    _, index, _ = gold_store
    document = tmp_path / "mini.txt"
    document.write_text(
        "Clinical Study Protocol MINI-01\n\n5.1 Inclusion Criteria\n1. Adults aged 18 years or older.\n"
        "2. Platelet count >= 100 x 10^9/L.\n\n5.2 Exclusion Criteria\n1. ALT > 3 x ULN.\n"
    )
    result = CliRunner().invoke(
        app, ["ingest", str(document), "--protocol-id", "MINI-01", "--version", "2", "--effective-date", "2024-02-01"]
    )
    assert result.exit_code == 0, result.output
    assert "MINI-01 2 (effective 2024-02-01): ingested, 3 segments" in result.output
    [info] = index.versions("MINI-01")
    assert (info.version, info.effective_date, info.criteria_count) == ("2", dt.date(2024, 2, 1), 3)
    manual = tmp_path / "manual.csv"
    manual.write_text("analyte,sex,lln,uln,unit\nALT,,7,45,U/L\nAST,,30,20,U/L\n")  # AST: low > high
    result = CliRunner().invoke(app, ["ingest", str(document), "--protocol-id", "MINI-01", "--version", "3",
                                      "--lab-manual", str(manual)])
    assert result.exit_code == 0, result.output
    assert "not used:" in result.output and "manual.csv" in result.output
    assert [(r.analyte, r.uln) for r in index.protocol("MINI-01", "3").reference_ranges] == [("ALT", 45.0)]
    bad = CliRunner().invoke(app, ["ingest", str(document), "--effective-date", "01/02/2024"])
    assert bad.exit_code != 0
