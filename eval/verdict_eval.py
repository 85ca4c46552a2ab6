"""Score the exact engine on the gold observation × criterion cases (eval/gold/verdict_cases.yaml).

Each case carries its rule(s) inline, so the criterion is rebuilt here without the parser or Qdrant; the
reference (protocol_id, version, label) says which protocol clause it stands for. Reported: accuracy, missed
violations (gold VIOLATES, engine anything else: the error that matters most), false violations, and accuracy
per family (unit-exact, uln-multiple, derived, condition-unknown, ...).

    .venv/bin/python -m eval.verdict_eval [path]
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections import Counter
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

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


def run(path: Path = GOLD) -> dict:
    cases = load_cases(path)
    failures, by_family = [], {}
    missed, false_violations = 0, 0
    for case in cases:
        finding = judge_criterion(case.criterion(), case.observations, case.demographics, case.reference_ranges,
                                  case.on_date)
        ok = finding.verdict is case.expected
        family = by_family.setdefault(case.family, {"n": 0, "correct": 0})
        family["n"] += 1
        family["correct"] += ok
        if not ok:
            missed += case.expected is Verdict.VIOLATES
            false_violations += finding.verdict is Verdict.VIOLATES
            failures.append({"id": case.id, "expected": case.expected.value, "got": finding.verdict.value,
                             "why": case.why, "rationale": finding.rationale})
    n = len(cases)
    return {
        "cases": n,
        "generated": sum(c.source == "generated" for c in cases),
        "hand": sum(c.source == "hand" for c in cases),
        "correct": n - len(failures),
        "accuracy": (n - len(failures)) / n if n else 0.0,
        "violations_in_gold": sum(c.expected is Verdict.VIOLATES for c in cases),
        "missed_violations": missed,
        "false_violations": false_violations,
        "by_expected": dict(Counter(c.expected.value for c in cases)),
        "by_family": by_family,
        "protocols": sorted({c.protocol_id for c in cases}),
        "failures": failures,
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    report = run(Path(args[0]) if args else GOLD)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0 if not report["failures"] else 1


if __name__ == "__main__":
    sys.exit(main())
