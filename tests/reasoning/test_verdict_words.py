"""One vocabulary, per kind of criterion: "meets an exclusion criterion" never reaches a CRA."""

from __future__ import annotations

import pytest
import yaml

from ingest.models import CriterionKind
from reasoning import verdict_words
from reasoning.models import Verdict
from reasoning.verdict_words import kind_name, words


def test_every_kind_and_verdict_has_its_own_words():
    for kind in CriterionKind:
        said = {words(v, kind) for v in Verdict}
        assert len(said) == len(Verdict), kind  # no two verdicts read alike
    assert words(Verdict.VIOLATES, CriterionKind.EXCLUSION) == "⛔ EXCLUDED"
    assert words(Verdict.MEETS, CriterionKind.EXCLUSION) == "✅ not excluded"
    assert words(Verdict.MEETS, CriterionKind.DISCONTINUATION) == "✅ not triggered"
    assert "dose action" in words(Verdict.VIOLATES, CriterionKind.DOSE_MODIFICATION)
    assert kind_name(CriterionKind.DOSE_MODIFICATION) == "dose modification"
    assert not any("meets" in words(v, k) for k in (CriterionKind.EXCLUSION, CriterionKind.DISCONTINUATION,
                                                     CriterionKind.DOSE_MODIFICATION) for v in Verdict)


def test_a_vocabulary_missing_a_kind_is_refused_on_load(tmp_path, monkeypatch):
    data = yaml.safe_load(verdict_words.VOCABULARY.read_text(encoding="utf-8"))
    del data["kinds"]["discontinuation"]
    broken = tmp_path / "verdict_words.yaml"
    broken.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(verdict_words, "VOCABULARY", broken)
    verdict_words.vocabulary.cache_clear()
    try:
        with pytest.raises(ValueError, match="discontinuation"):
            verdict_words.vocabulary()
    finally:
        verdict_words.vocabulary.cache_clear()
