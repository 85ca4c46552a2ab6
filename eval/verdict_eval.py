"""Score the exact engine on the gold observation × criterion cases (eval/gold/verdict_cases.yaml).

Each case carries its rule(s) inline, so the criterion is rebuilt here without the parser or Qdrant; the
reference (protocol_id, version, label) says which protocol clause it stands for. Reported: accuracy, missed
violations (gold VIOLATES, engine anything else: the error that matters most), false violations, and accuracy
per family (unit-exact, uln-multiple, derived, condition-unknown, ...).

    .venv/bin/python -m eval.verdict_eval [path]
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from eval.result import SuiteResult

from ingest.models import Criterion, CriterionKind, LabRule
from labs.errors import DocumentError
from labs.observation import Demographics, LabObservation
from labs.reference_range import ReferenceRange
from reasoning.evaluate import judge_criterion
from reasoning.models import Verdict

GOLD = Path(__file__).resolve().parent / "gold" / "verdict_cases.yaml"


class GoldRule(LabRule):
    """A LabRule as written in a case: the quote is located in the criterion text when the case is built."""

    model_config = ConfigDict(extra="forbid")
    quote: str


class GoldCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    source: str = Field(description="generated | hand")
    family: str
    protocol_id: str
    version: str
    label: str
    kind: CriterionKind
    text: str | None = Field(default=None, description="criterion wording; default: the rule quotes joined")
    rules: list[GoldRule]
    observations: list[LabObservation]
    demographics: Demographics = Field(default_factory=Demographics)
    reference_ranges: list[ReferenceRange] = Field(default_factory=list)
    on_date: dt.date | None = None
    expected: Verdict
    why: str = ""

    def criterion(self) -> Criterion:
        text = self.text or "; ".join(dict.fromkeys(r.quote for r in self.rules))
        rules = []
        for rule in self.rules:
            start = text.find(rule.quote)
            if start < 0:
                raise DocumentError(GOLD, f"case {self.id}: quote {rule.quote!r} is not in its text {text!r}")
            rules.append(LabRule(**{**rule.model_dump(), "start": start, "end": start + len(rule.quote)}))
        return Criterion(
            id=f"{self.protocol_id}:{self.version}:{self.kind.value}:{self.label}",
            protocol_id=self.protocol_id, version=self.version, kind=self.kind, label=self.label,
            page_start=1, page_end=1, text=text, char_start=0, char_end=len(text), rules=rules,
        )


def load_cases(path: Path = GOLD) -> list[GoldCase]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise DocumentError(path, "expected a YAML list of cases")
    cases = []
    for n, item in enumerate(data, 1):
        try:
            cases.append(GoldCase.model_validate(item))
        except Exception as exc:  # name the case that is malformed
            raise DocumentError(path, f"case #{n} ({item.get('id') if isinstance(item, dict) else '?'}): {exc}") from exc
    ids = Counter(c.id for c in cases)
    duplicates = [i for i, count in ids.items() if count > 1]
    if duplicates:
        raise DocumentError(path, f"duplicate case ids: {duplicates[:5]}")
    return cases


def _normalized(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def judge_cases(cases: list[GoldCase], suite: str = "verdicts") -> SuiteResult:
    """Every case through the exact engine: verdicts, the unsafe miss, and whether each citation is verbatim."""
    confusion: dict[str, Counter] = defaultdict(Counter)
    per_analyte: dict[str, list[bool]] = defaultdict(list)
    misses, missed_violations = [], 0
    citations = verbatim = cited_right = decided = decided_cited = 0
    for case in cases:
        criterion = case.criterion()
        finding = judge_criterion(criterion, case.observations, case.demographics, case.reference_ranges,
                                  case.on_date)
        ok = finding.verdict is case.expected
        confusion[case.expected.value][finding.verdict.value] += 1
        for analyte in {o.analyte for o in case.observations}:
            per_analyte[analyte].append(ok)
        if not ok:
            missed_violations += case.expected is Verdict.VIOLATES
            misses.append(f"{case.id}: expected {case.expected.value}, got {finding.verdict.value} — "
                          f"{finding.rationale}")
        for citation in finding.citations:
            citations += 1
            verbatim += _normalized(citation.quote) in _normalized(criterion.text)
            cited_right += citation.criterion_id == criterion.id
        if finding.verdict in (Verdict.MEETS, Verdict.VIOLATES):
            decided += 1
            decided_cited += any(c.criterion_id == criterion.id for c in finding.citations)
    n = len(cases)
    correct = sum(confusion[e][e] for e in confusion)
    return SuiteResult(
        suite=suite,
        metrics={
            "accuracy": correct / n if n else 0.0,
            "missed_violations": missed_violations,
            "citation_verbatim_rate": verbatim / citations if citations else 0.0,
            "citation_precision": cited_right / citations if citations else 0.0,
            "citation_recall": decided_cited / decided if decided else 0.0,
        },
        counts={"cases": n, "correct": correct, "citations": citations,
                "violations_in_gold": sum(c.expected is Verdict.VIOLATES for c in cases),
                "false_violations": sum(n for e, got in confusion.items() if e != Verdict.VIOLATES.value
                                        for g, n in got.items() if g == Verdict.VIOLATES.value),
                "generated": sum(c.source == "generated" for c in cases),
                "hand": sum(c.source == "hand" for c in cases)},
        misses=misses,
        confusion={e: dict(g) for e, g in confusion.items()},
        per_analyte={a: sum(v) / len(v) for a, v in per_analyte.items()},
    )


def run(fast: bool = False, path: Path = GOLD) -> SuiteResult:
    """Every gold case through the exact engine (the eval harness's `verdicts` suite)."""
    return judge_cases(load_cases(path))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    result = run(path=Path(args[0]) if args else GOLD)
    print(result.model_dump_json(indent=2))
    return 0 if not result.misses else 1


if __name__ == "__main__":
    sys.exit(main())
