"""The `corpus` eval suite: the real parser on 50 real protocols against hand-checked gold (issue 12, item 7).

Parses each PDF of ../shared/data/protocols/corpus with `ingest.protocol.parse_protocol`, scores it with
eval/corpus_score.py against the gold that eval/corpus_gold.py normalises, and reports per protocol and overall
(label recall per set, extra labels, section pages, lab-rule precision/recall, synopsis-only rules, non-lab
false positives, crashes, protocols with eligibility where none is found, seconds). The issue's goals are in
eval/corpus.yaml and reported met / not met; eval/floors.yaml holds today's values as a ratchet.

A crash is an exception that is not one of TrialGuard's own errors, or a DocumentError for a document whose text
layer the gold calls readable ("ok"). A DocumentError for a garbled or partly unreadable document is a refusal
with a clear message, not a crash (the issue asks for exactly that where OCR is unavailable); it still counts in
`eligibility_missed` when the document has criteria.

The harness runs two suites: `corpus` (all 50 protocols; skipped by `--fast`) and `corpus_fast` (the
`fast_subset` of eval/corpus.yaml, about 15 s; in every run, so `make test` has its own ratchet). Each has its own
floors. Nothing is cached.

Run: `python -m eval.corpus_eval [--fast] [--only NAME ...] [--out report.md]`
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback

from eval.corpus_gold import GoldProtocol, load_config, load_gold
from eval.corpus_score import ProtocolScore, score_protocol, totals
from eval.result import SuiteResult

WORST = 8  # protocols detailed under "worst failures"


def parse_and_score(gold: GoldProtocol) -> ProtocolScore:
    from ingest.protocol import parse_protocol
    from labs.errors import DocumentError, TrialGuardError

    if not gold.pdf.exists():
        return score_protocol(gold, None, error=f"{gold.pdf} does not exist", crashed=True)
    started = time.perf_counter()
    try:
        protocol = parse_protocol(gold.pdf)
    except DocumentError as exc:
        return score_protocol(gold, None, seconds=round(time.perf_counter() - started, 2), error=f"refused: {exc.reason}",
                              crashed=gold.text_layer == "ok")
    except TrialGuardError as exc:
        return score_protocol(gold, None, seconds=round(time.perf_counter() - started, 2),
                              error=f"{type(exc).__name__}: {exc}", crashed=gold.text_layer == "ok")
    except Exception as exc:  # noqa: BLE001 - any other exception is a crash, reported with where it happened
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return score_protocol(gold, None, seconds=round(time.perf_counter() - started, 2), crashed=True,
                              error=f"crash: {type(exc).__name__}: {exc} ({where.filename}:{where.lineno})")
    return score_protocol(gold, protocol, seconds=round(time.perf_counter() - started, 2))


def evaluate(names: list[str] | None = None, progress=None) -> list[ProtocolScore]:
    gold = load_gold()
    if names:
        unknown = sorted(set(names) - {g.name for g in gold})
        if unknown:
            raise ValueError(f"not in the corpus gold: {', '.join(unknown)}")
        gold = [g for g in gold if g.name in names]
    scores = []
    for item in gold:
        if progress:
            progress(item.name)
        scores.append(parse_and_score(item))
    return scores


# ------------------------------------------------------------------------------------------------- report


def _pct(found: int, total: int) -> str:
    return f"{found}/{total}" if total else "–"


def _protocol_row(s: ProtocolScore) -> str:
    sets = " ".join(f"{st.key}:{st.found}/{st.gold_labels}" for st in s.sets if st.gold_labels) or "–"
    pages = sum(st.start_ok + st.end_ok for st in s.sets if st.gold_labels)
    page_total = 2 * sum(1 for st in s.sets if st.gold_labels)
    judged = s.count("hit") + s.count("fp") + s.count("nonlab_fp") + s.count("change_as_level")
    status = s.error or ("eligibility not found" if s.eligibility_missed else
                         ("criteria found in a document without eligibility" if not s.eligibility and s.eligibility_found
                          else ""))
    status = status.replace("|", "\\|").replace("\n", " ")  # an error message must not break the table
    return (f"| {s.name} | {s.group} | {s.pages or '–'} | {s.seconds if s.seconds is not None else '–'} | "
            f"{_pct(s.found_labels, s.gold_labels)} | {sets} | {len(s.extra_in_body)}/{s.extra_in_synopsis}/"
            f"{s.extra_elsewhere} | {_pct(pages, page_total)} | {_pct(s.limits_found, s.limits)} | "
            f"{_pct(s.count('hit'), judged)} | {s.count('nonlab_fp')} | {s.synopsis_only} | {status} |")


def _badness(s: ProtocolScore) -> tuple:
    return (s.crashed, s.eligibility_missed, s.gold_labels - s.found_labels + len(s.misses) + s.count("fp")
            + s.count("nonlab_fp") + s.count("change_as_level"))


def markdown(scores: list[ProtocolScore], metrics: dict[str, float], fast: bool) -> str:
    config = load_config()
    lines = [f"### Corpus: {len(scores)} protocols{' (fast subset, eval/corpus.yaml)' if fast else ''}", "",
             "Goals of issue 12 (reported, not enforced; floors.yaml enforces today's values as a ratchet):", "",
             "| goal | value | target | met |", "|---|---|---|---|"]
    for name, bound in config.goals.items():
        value = metrics.get(name)
        met = "—" if value is None else ("yes" if bound.holds(value) else "**no**")
        lines.append(f"| {name} | {'—' if value is None else f'{value:.4g}'} | {bound} | {met} |")
    lines += ["", "Per protocol. Labels: found/gold (per set). Extra: top-level criteria matching no gold label, "
              "in a body section / on a synopsis page / elsewhere. Pages: right start+end pages. Rules: limits "
              "found/gold. Precision: hits/judged parsed rules. NL FP: non-lab false positives. Syn: limits found "
              "only in the synopsis.", "",
              "| protocol | group | pages | s | labels | per set | extra | pages | rules | precision | NL FP | syn | "
              "problem |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += [_protocol_row(s) for s in scores]
    worst = sorted((s for s in scores if _badness(s)[2] or s.crashed or s.eligibility_missed), key=_badness,
                   reverse=True)[:WORST]
    if worst:
        lines += ["", f"#### Worst failures ({len(worst)} protocols)", ""]
    for s in worst:
        lines.append(f"- **{s.name}** (group {s.group}){': ' + s.error if s.error else ''}")
        for st in s.sets:
            if st.missed:
                lines.append(f"  - {st.key}: missing labels {', '.join(st.missed)}"
                             f" (parsed pages {st.parsed_start}–{st.parsed_end}, gold {st.gold_start}–{st.gold_end})")
        if s.extra_in_body:
            lines.append(f"  - extra labels in the body: {', '.join(s.extra_in_body[:12])}"
                         f"{' …' if len(s.extra_in_body) > 12 else ''}")
        for miss in s.misses:
            lines.append(f"  - missed rule {miss.kind} {miss.label}: {miss.threshold} — {miss.reason}")
        for rule in s.parsed_rules:
            if rule.verdict in {"fp", "nonlab_fp", "change_as_level"}:
                what = {"fp": "false positive", "nonlab_fp": f"non-lab false positive ({rule.detail})",
                        "change_as_level": "a change between visits read as a level"}[rule.verdict]
                lines.append(f"  - {what}: {rule.kind} {rule.label} p{rule.page}: {rule.rule}")
    return "\n".join(lines) + "\n"


def _misses(scores: list[ProtocolScore]) -> list[str]:
    out = []
    for s in scores:
        if s.error:
            out.append(f"{s.name}: {s.error}")
        out += [f"{s.name} {st.key}: missing labels {', '.join(st.missed)}" for st in s.sets if st.missed]
        out += [f"{s.name} missed rule {m.kind} {m.label} {m.threshold}: {m.reason}" for m in s.misses]
        out += [f"{s.name} {r.verdict} {r.kind} {r.label} p{r.page}: {r.rule} {r.detail}".rstrip()
                for r in s.parsed_rules if r.verdict in {"fp", "nonlab_fp", "change_as_level"}]
    return out


def run(fast: bool = False) -> SuiteResult:
    """The harness's `corpus` suite: all 50 protocols; skipped under --fast (`corpus_fast` runs the subset)."""
    if fast:
        return SuiteResult(suite="corpus", skipped="--fast parses only the subset of eval/corpus.yaml (suite "
                                                   "corpus_fast); `trialguard eval` parses all 50")
    return _suite("corpus", evaluate(), fast=False)


def run_subset(fast: bool = False) -> SuiteResult:
    """The harness's `corpus_fast` suite: the subset of eval/corpus.yaml, in every mode (its own floors)."""
    return _suite("corpus_fast", evaluate(load_config().fast_subset), fast=True)


def _suite(name: str, scores: list[ProtocolScore], fast: bool) -> SuiteResult:
    metrics = totals(scores)
    return SuiteResult(
        suite=name,
        metrics={k: round(v, 4) for k, v in metrics.items()},
        counts={
            "protocols": len(scores),
            "gold_labels": sum(s.gold_labels for s in scores),
            "found_labels": sum(s.found_labels for s in scores),
            "gold_limits": sum(s.limits for s in scores),
            "found_limits": sum(s.limits_found for s in scores),
            "parsed_rules_judged": sum(s.count(v) for s in scores for v in ("hit", "fp", "nonlab_fp", "change_as_level")),
            "rule_hits": sum(s.count("hit") for s in scores),
            "refused": sum(1 for s in scores if s.error and s.error.startswith("refused")),
        },
        misses=_misses(scores),
        latencies_ms=[s.seconds * 1000 for s in scores if s.seconds is not None],
        markdown=markdown(scores, metrics, fast),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="only the fast subset of eval/corpus.yaml")
    parser.add_argument("--only", nargs="*", help="these protocols (file names without .pdf)")
    parser.add_argument("--out", help="also write the Markdown report here")
    args = parser.parse_args(argv)
    names = args.only or (load_config().fast_subset if args.fast else None)
    scores = evaluate(names, progress=lambda name: print(f"parsing {name} ...", file=sys.stderr, flush=True))
    metrics = totals(scores)
    text = markdown(scores, metrics, fast=bool(args.fast))
    text += "\nOverall: " + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()) + "\n"
    print(text)
    if args.out:
        from pathlib import Path

        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
