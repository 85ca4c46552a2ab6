"""Reviewer rule corrections: versioned records in the audit store, applied to the protocol an assessment uses."""

from __future__ import annotations

import pytest

from ingest.models import Comparator, Criterion, CriterionKind, LabRule, Page, Protocol
from ui.audit import Action, AuditError, ItemKind
from ui.corrections import apply_corrections, corrections_of, record_correction

TEXT = "4. ALT or AST > 2.5 x ULN (> 5 x ULN if liver metastases are present)."


def _protocol() -> Protocol:
    rule = LabRule(analyte="ALT", comparator=Comparator.GT, value=2.5, multiple_of="ULN", quote="ALT or AST > 2.5 x ULN")
    criterion = Criterion(
        id="TG-X:1.0:exclusion:4", protocol_id="TG-X", version="1.0", kind=CriterionKind.EXCLUSION, label="4",
        page_start=1, page_end=1, text=TEXT, char_start=0, char_end=len(TEXT), rules=[rule],
    )
    return Protocol(
        protocol_id="TG-X", version="1.0", source_file="x.txt", sha256="0" * 64,
        pages=[Page(number=1, text=TEXT, char_start=0)], criteria=[criterion],
    )


def test_correction_is_versioned_audited_and_applied(store):
    protocol = _protocol()
    criterion = protocol.criteria[0]
    first = LabRule(analyte="ALT", comparator=Comparator.GT, value=3.0, multiple_of="ULN", quote="ALT or AST > 2.5 x ULN")
    c1 = record_correction(store, criterion, [first], actor="Dr Ada", reason="sponsor letter: 3 x ULN")
    assert c1.correction_version == 1 and c1.replaced[0].value == 2.5

    corrected = apply_corrections(protocol, store)
    rule = corrected.criteria[0].rules[0]
    assert rule.value == 3.0 and rule.source == "reviewer"
    assert rule.start == TEXT.index("ALT or AST") and rule.end == rule.start + len(rule.quote)
    assert protocol.criteria[0].rules[0].value == 2.5  # the input protocol is not mutated

    conditional = LabRule(
        analyte="ALT", comparator=Comparator.GT, value=5.0, multiple_of="ULN", quote="> 5 x ULN if liver metastases",
        condition="liver metastases", condition_type="if",
    )
    c2 = record_correction(store, criterion, [first, conditional], actor="Dr Bo", reason="missing condition")
    assert c2.correction_version == 2 and [r.value for r in c2.replaced] == [3.0]
    assert [r.value for r in apply_corrections(protocol, store).criteria[0].rules] == [3.0, 5.0]
    assert [c.correction_version for c in corrections_of(store, criterion.id)] == [1, 2]

    records = store.records(item_kinds=[ItemKind.RULE])
    assert [r.action for r in records] == [Action.RULE_CORRECTED] * 2
    assert records[0].after["rules"][0]["value"] == 3.0  # the first version is still there, unchanged
    assert store.items() == []  # rule corrections are not review-queue items


def test_correction_needs_reason_and_a_verbatim_quote(store):
    criterion = _protocol().criteria[0]
    rule = LabRule(analyte="ALT", comparator=Comparator.GT, value=3.0, multiple_of="ULN", quote="ALT > 3 x ULN")
    with pytest.raises(AuditError, match="verbatim"):
        record_correction(store, criterion, [rule], actor="Dr Ada", reason="x")
    with pytest.raises(AuditError, match="reason"):
        record_correction(store, criterion, criterion.rules, actor="Dr Ada", reason=" ")
    assert store.count() == 0


def test_other_protocol_versions_are_untouched(store):
    protocol = _protocol()
    record_correction(store, protocol.criteria[0], [], actor="Dr Ada", reason="not a lab criterion")
    assert apply_corrections(protocol, store).criteria[0].rules == []
    other = protocol.model_copy(update={"version": "2.0"})
    assert apply_corrections(other, store).criteria[0].rules[0].value == 2.5


@pytest.mark.slow
def test_corrected_index_finds_a_criterion_by_a_rule_the_parser_missed(app_env, app_db):
    """A reviewer adds a rule on an analyte the criterion had none for: searches for it now find the criterion."""
    from labs.observation import LabObservation
    from ui.corrections import CorrectedIndex
    from ui.demo_protocols import ensure_demo_protocols
    from ui.services import build_index
    from ui.settings import Settings

    index = build_index(Settings())
    ensure_demo_protocols(index, Settings().protocols_dir)  # the session's one demo protocol, if not in yet
    protocol = index.protocol("TG-ONC-001", "1.0")
    target = next(c for c in protocol.criteria if c.kind is CriterionKind.DISCONTINUATION and not c.rules)
    observation = LabObservation(analyte="LIPASE", value=900, unit="U/L", uln=60,
                                 date=__import__("datetime").date(2024, 3, 2))  # v1.0 in force
    assert target.id not in {c.criterion.id for c in index.search([observation], "TG-ONC-001", top_k=1)}

    rule = LabRule(analyte="LIPASE", comparator=Comparator.GT, value=3, multiple_of="ULN", quote=target.text[:20])
    record_correction(app_db, target, [rule], actor="Dr Ada", reason="the parser missed this threshold")
    found = {c.criterion.id: c for c in CorrectedIndex(index, app_db).search([observation], "TG-ONC-001", top_k=1)}
    assert target.id in found
    assert found[target.id].criterion.rules[0].source == "reviewer"
    assert found[target.id].why == ["reviewer-corrected rule on LIPASE"]
