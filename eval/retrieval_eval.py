"""Retrieval gold set (eval/gold/questions.yaml): does search find every criterion that governs a question?

recall_at_5: share of (question, gold criterion) pairs found by `search(..., top_k=5)` (every criterion with a
parsed rule on the analyte, plus the 5 best hybrid matches beyond those). rule_recall: the same share over gold
criteria whose parsed rules name the question's analyte (or one derived from it): must be 1.0, since those are
found by exact payload filter. version_accuracy: questions with an expected version cite only that version.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from eval.result import SuiteResult

REPO_ROOT = Path(__file__).resolve().parents[1]
GOLD_FILE = REPO_ROOT / "eval" / "gold" / "questions.yaml"
DEMO_PREFIX = "TG-"


class GoldDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    manifest: Path | None = None
    protocol_id: str | None = None
    file: Path | None = None


class GoldQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    protocol_id: str
    question: str
    gold: list[str] = Field(min_length=1, description='"<kind> <label>" of each governing criterion')
    version: str | None = None
    date: dt.date | None = None


class RetrievalGold(BaseModel):
    model_config = ConfigDict(extra="forbid")

    documents: list[GoldDocument]
    questions: list[GoldQuestion]


class QuestionResult(BaseModel):
    id: str
    protocol_id: str
    version: str | None
    gold: list[str]
    found: list[str]
    missed: list[str]
    rule_gold: list[str] = Field(description="gold criteria with a parsed rule on the question's analytes")
    wrong_version: list[str] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)
    latency_ms: float


class RetrievalMetrics(BaseModel):
    k: int
    recall_at_k: float
    macro_recall_at_k: float
    rule_recall: float
    version_accuracy: float
    gold_pairs: int
    rule_pairs: int
    questions: list[QuestionResult]

    @property
    def misses(self) -> list[str]:
        lines = []
        for q in self.questions:
            if q.missed:
                lines.append(f"{q.id} ({q.protocol_id} {q.version}): missed {', '.join(q.missed)}; got {', '.join(q.found[:8])}")
            if q.wrong_version:
                lines.append(f"{q.id}: wrong version {', '.join(q.wrong_version)}")
        return lines


def load_gold(path: Path = GOLD_FILE) -> RetrievalGold:
    return RetrievalGold.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


def ingest_documents(index, gold: RetrievalGold, protocol_ids: set[str] | None = None, progress=None) -> None:
    """Parse and ingest every gold document (those of `protocol_ids` only, when given)."""
    from ingest import parse_protocol
    from retrieval.manifest import read_manifest

    jobs = []
    for document in gold.documents:
        if document.manifest is not None:
            for entry in read_manifest(REPO_ROOT / document.manifest):
                jobs.append((entry.file, entry.protocol_id, entry.version, entry.effective_date))
        else:
            jobs.append((REPO_ROOT / document.file, document.protocol_id, None, None))
    for file, protocol_id, version, effective_date in jobs:
        if protocol_ids is not None and protocol_id not in protocol_ids:
            continue
        if progress:
            progress(f"ingest {protocol_id} {version or ''}")
        index.ingest(parse_protocol(file, protocol_id=protocol_id, version=version, effective_date=effective_date))


def label_of(criterion) -> str:
    return f"{criterion.kind.value} {criterion.label}"


def matches(gold_label: str, criterion) -> bool:
    """The criterion is the gold one, or one of its sub-items ("exclusion 10" is answered by "exclusion 10•4")."""
    kind, _, label = gold_label.partition(" ")
    if criterion.kind.value != kind:
        return False
    if criterion.label == label:
        return True
    rest = criterion.label[len(label):] if criterion.label.startswith(label) else None
    return bool(rest) and not rest[0].isdigit()


def evaluate(index, questions: Sequence[GoldQuestion], k: int = 5) -> RetrievalMetrics:
    from retrieval.question import parse_question

    results = []
    for question in questions:
        parsed = parse_question(question.question)
        on_date = question.date or parsed.date
        started = time.perf_counter()
        candidates = index.search(parsed.observations, question.protocol_id, on_date=on_date, top_k=k)
        latency = (time.perf_counter() - started) * 1000
        found = [c.criterion for c in candidates]
        missed = [g for g in question.gold if not any(matches(g, c) for c in found)]
        version = index.version_in_force(question.protocol_id, on_date)
        protocol = index.protocol(question.protocol_id, version)
        codes = {code for o in parsed.observations for code in index.related_analytes(o.analyte)}
        rule_gold = [
            g for g in question.gold
            if any(matches(g, c) and codes & set(c.analytes) for c in protocol.criteria)
        ]
        wrong = []
        if question.version is not None:
            wrong = [f"{label_of(c)} v{c.version}" for c in found
                     if c.version != question.version and any(matches(g, c) for g in question.gold)]
        results.append(
            QuestionResult(
                id=question.id, protocol_id=question.protocol_id, version=version, gold=question.gold,
                found=[label_of(c) for c in found], missed=missed, rule_gold=rule_gold, wrong_version=wrong,
                problems=parsed.problems, latency_ms=round(latency, 2),
            )
        )
    pairs = sum(len(r.gold) for r in results)
    rule_pairs = sum(len(r.rule_gold) for r in results)
    with_version = [r for r, q in zip(results, questions) if q.version is not None]
    return RetrievalMetrics(
        k=k,
        recall_at_k=(pairs - sum(len(r.missed) for r in results)) / pairs if pairs else 0.0,
        macro_recall_at_k=sum(1 - len(r.missed) / len(r.gold) for r in results) / len(results) if results else 0.0,
        rule_recall=(rule_pairs - sum(len(set(r.rule_gold) & set(r.missed)) for r in results)) / rule_pairs
        if rule_pairs else 1.0,
        version_accuracy=sum(1 for r in with_version if not r.wrong_version) / len(with_version) if with_version else 1.0,
        gold_pairs=pairs,
        rule_pairs=rule_pairs,
        questions=results,
    )


def run(fast: bool = False) -> SuiteResult:
    """The eval harness's entry: a fresh embedded store in a temp dir; `fast` keeps to the demo protocols."""
    from retrieval.embedding import get_embedder
    from retrieval.index import ProtocolIndex
    from retrieval.store import make_client

    gold = load_gold()
    questions = [q for q in gold.questions if not fast or q.protocol_id.startswith(DEMO_PREFIX)]
    with tempfile.TemporaryDirectory(prefix="trialguard-retrieval-eval-") as tmp:
        client = make_client(path=Path(tmp) / "qdrant")
        try:
            index = ProtocolIndex(client, get_embedder(None), collection="eval_criteria")
            ingest_documents(index, gold, {q.protocol_id for q in questions})
            metrics = evaluate(index, questions)
        finally:
            client.close()
    latencies = [q.latency_ms for q in metrics.questions]
    return SuiteResult(
        suite="retrieval",
        metrics={
            "recall_at_5": round(metrics.recall_at_k, 4),
            "macro_recall_at_5": round(metrics.macro_recall_at_k, 4),
            "rule_recall": round(metrics.rule_recall, 4),
            "version_accuracy": round(metrics.version_accuracy, 4),
        },
        counts={"questions": len(questions), "gold_pairs": metrics.gold_pairs, "rule_pairs": metrics.rule_pairs},
        misses=metrics.misses,
        recall_at_k={5: metrics.recall_at_k},
        latencies_ms=latencies,
    )
