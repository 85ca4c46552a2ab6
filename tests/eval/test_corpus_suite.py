"""The corpus suite on the real gold and real PDFs (../shared/data/protocols/corpus, read in place)."""

from __future__ import annotations

import pytest

from eval.corpus_gold import load_config, load_gold
from eval.corpus_score import _gold_label_keys, label_key


def test_the_real_gold_of_every_group_loads_into_one_consistent_shape(shared_data):
    gold = load_gold()
    assert len(gold) == len(list((shared_data / "protocols" / "corpus").glob("*.pdf")))
    assert {g.group for g in gold} == {"A", "B", "C", "D"}
    for protocol in gold:
        assert protocol.pdf.exists(), protocol.name
        if not protocol.eligibility:
            assert protocol.sets == [] and protocol.rules == []
        ids = {r.id for r in protocol.rules}
        for rule in protocol.rules:
            top = {label_key(label) for s in protocol.sets if s.kind == rule.kind for label in s.labels}
            assert _gold_label_keys(rule, protocol) & top, f"{rule.id}: label {rule.label} in no set"
            assert rule.alt_unit_of is None or rule.alt_unit_of in ids, rule.id
            assert any(s.kind == rule.kind and s.start_page <= rule.page <= s.end_page for s in protocol.sets), rule.id
    assert set(load_config().fast_subset) <= {g.name for g in gold}


@pytest.mark.slow
def test_the_suite_parses_real_protocols_end_to_end_and_reports_each(shared_data):
    from eval.corpus_eval import _suite, evaluate

    names = ["NCT01210482_Prot_000", "NCT00777920_Prot_000", "NCT00230607_Prot_000"]
    scores = evaluate(names)
    gold = {g.name: g for g in load_gold() if g.name in names}
    assert [s.name for s in scores] == sorted(names)
    for score in scores:
        assert not score.crashed and score.error is None and score.seconds > 0 and score.pages
        assert score.gold_labels == sum(len(s.labels) for s in gold[score.name].sets)
    survey = next(s for s in scores if s.name == "NCT01210482_Prot_000")
    assert not survey.eligibility and not survey.eligibility_missed
    result = _suite("corpus", scores, fast=False)
    assert result.counts["protocols"] == 3 and result.counts["gold_labels"] == sum(s.gold_labels for s in scores)
    for key in ("label_recall", "rule_recall", "rule_precision", "start_page_accuracy", "end_page_accuracy"):
        assert 0.0 <= result.metrics[key] <= 1.0
    assert result.metrics["crashes"] == 0
    for name in names:
        assert f"| {name} |" in result.markdown
    assert "| label_recall |" in result.markdown  # the goals table
