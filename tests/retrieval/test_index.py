"""ProtocolIndex on real embedded Qdrant with the real embedding model: ingest, versions, visibility, search."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from qdrant_client import models

from ingest.models import CriterionKind
from labs.errors import ConfigError
from labs.observation import LabObservation
from retrieval.errors import NoVersionInForceError, UnknownProtocolError
from retrieval.index import point_id
from retrieval_handmade import CTX, DEFAULT_CLAUSES, EXC, INC, hand_protocol, rule

pytestmark = pytest.mark.slow


def _count(index) -> int:
    return index.client.count(index.collection, exact=True).count


def _labels(candidates) -> set[str]:
    return {f"{c.criterion.kind.value} {c.criterion.label}" for c in candidates}


def test_same_file_twice_changes_nothing(make_index):
    index = make_index()
    protocol = hand_protocol()
    first = index.ingest(protocol)
    assert not first.skipped and first.points == len(protocol.criteria) == _count(index)
    before = {p.id: p.payload for p in index.client.scroll(index.collection, limit=100)[0]}
    second = index.ingest(protocol)
    assert second.skipped and second.points == 0
    after = {p.id: p.payload for p in index.client.scroll(index.collection, limit=100)[0]}
    assert after == before
    [info] = index.protocols()
    assert (info.protocol_id, info.version, info.criteria_count, info.context_count) == ("TG-TEST", "1.0", 8, 2)
    assert info.counts_by_kind == {"inclusion": 4, "exclusion": 4, "context": 2}


def test_point_ids_are_deterministic(make_index):
    protocol = hand_protocol()
    a, b = make_index("a"), make_index("b")
    a.ingest(protocol)
    b.ingest(protocol)
    ids_a = sorted(str(p.id) for p in a.client.scroll(a.collection, limit=100)[0])
    ids_b = sorted(str(p.id) for p in b.client.scroll(b.collection, limit=100)[0])
    assert ids_a == ids_b == sorted(point_id(c.id, protocol.sha256) for c in protocol.criteria)


def test_new_version_sits_beside_the_old_and_dates_pick_it(make_index):
    index = make_index()
    v1 = hand_protocol(version="1.0", effective_date=dt.date(2024, 1, 15))
    amended = [
        (EXC, "1", "Alanine aminotransferase (ALT) > 3 x ULN.", [rule("ALT", ">", 3, "ALT > 3 x ULN", multiple_of="ULN")], [])
        if label == "1" and kind == EXC else (kind, label, text, rules, refs)
        for kind, label, text, rules, refs in DEFAULT_CLAUSES
    ]
    v2 = hand_protocol(version="2.0", effective_date=dt.date(2024, 6, 1), clauses=amended)
    index.ingest(v1)
    index.ingest(v2)
    assert [i.version for i in index.protocols()] == ["1.0", "2.0"]
    assert index.version_in_force("TG-TEST", dt.date(2024, 3, 1)) == "1.0"
    assert index.version_in_force("TG-TEST", dt.date(2024, 6, 1)) == "2.0"
    assert index.version_in_force("TG-TEST") == "2.0"
    with pytest.raises(NoVersionInForceError, match="2024-01-15"):
        index.version_in_force("TG-TEST", dt.date(2023, 12, 31))
    with pytest.raises(UnknownProtocolError, match="TG-TEST"):
        index.version_in_force("NOPE")

    alt = LabObservation(analyte="ALT", value=65, unit="U/L", uln=40)
    before = index.search([alt], "TG-TEST", on_date=dt.date(2024, 3, 2))
    after = index.search([alt], "TG-TEST", on_date=dt.date(2024, 7, 2))
    exc_before = next(c for c in before if c.criterion.kind == EXC and c.criterion.label == "1")
    exc_after = next(c for c in after if c.criterion.kind == EXC and c.criterion.label == "1")
    assert "2.5 x ULN" in exc_before.criterion.text and exc_before.criterion.version == "1.0"
    assert "3 x ULN" in exc_after.criterion.text and exc_after.criterion.version == "2.0"
    assert {c.criterion.version for c in before} == {"1.0"} and {c.criterion.version for c in after} == {"2.0"}
    # the observation's own date is used when no date is given
    dated = alt.model_copy(update={"date": dt.date(2024, 3, 2)})
    assert {c.criterion.version for c in index.search([dated], "TG-TEST")} == {"1.0"}


def test_interrupted_ingest_is_invisible_and_a_rerun_finishes_it(make_index):
    index = make_index()
    v1 = hand_protocol(version="1.0")
    index.ingest(v1)
    v2 = hand_protocol(version="2.0", effective_date=dt.date(2024, 6, 1))
    index._write_points(v2, None)  # what a crash before the manifest flip leaves behind
    assert _count(index) == 2 * len(v1.criteria)
    assert [i.version for i in index.protocols()] == ["1.0"]
    hits = index.search([LabObservation(analyte="PLAT", value=90, unit="10^9/L")], "TG-TEST", on_date=dt.date(2025, 1, 1))
    assert hits and {c.criterion.version for c in hits} == {"1.0"}
    result = index.ingest(v2)
    assert not result.skipped and [i.version for i in index.protocols()] == ["1.0", "2.0"]


def test_changed_file_for_the_same_version_replaces_it(make_index):
    index = make_index()
    index.ingest(hand_protocol())
    changed = hand_protocol(clauses=DEFAULT_CLAUSES[:4])
    result = index.ingest(changed)
    assert result.replaced_sha256 is not None and not result.skipped
    assert _count(index) == 4
    [info] = index.protocols()
    assert info.sha256 == changed.sha256 and info.criteria_count == 4


def test_full_protocol_round_trips(make_index):
    index = make_index()
    protocol = hand_protocol()
    index.ingest(protocol)
    assert index.protocol("TG-TEST", "1.0") == protocol
    assert index.protocol("TG-TEST") == protocol
    with pytest.raises(UnknownProtocolError, match="no ingested version '9'"):
        index.protocol("TG-TEST", "9")


def test_search_finds_rules_derived_rules_and_references(make_index):
    index = make_index()
    index.ingest(hand_protocol())
    alt = index.search([LabObservation(analyte="ALT", value=65, unit="U/L", uln=40)], "TG-TEST", top_k=2)
    by_label = {f"{c.criterion.kind.value} {c.criterion.label}": c for c in alt}
    assert by_label["exclusion 1"].why[0] == "rule on ALT" and by_label["exclusion 1"].score >= 1
    assert by_label["context Table 4"].why[0] == "rule on ALT"
    # "adequate hepatic function as defined in Table 4" names no analyte: found through its reference
    assert "Table 4" in by_label["inclusion 2"].why[0]
    assert sum(1 for c in alt if c.score < 0.9) <= 2  # top_k bounds the hybrid-only extras

    creat = index.search([LabObservation(analyte="CREAT", value=1.8, unit="mg/dL")], "TG-TEST", top_k=1)
    assert "rule on CRCL" in next(c for c in creat if c.criterion.label == "4" and c.criterion.kind == INC).why
    wbc = index.search([LabObservation(analyte="WBC", value=2.0, unit="10^9/L")], "TG-TEST", top_k=1)
    assert "rule on NEUT" in next(c for c in wbc if c.criterion.label == "3" and c.criterion.kind == INC).why


def test_hybrid_finds_a_clause_without_rules(make_index):
    index = make_index()
    clauses = [c for c in DEFAULT_CLAUSES if c[1] != "Table 4"]
    clauses[1] = (INC, "2", "Adequate hepatic function.", [], [])  # no rule, no reference: only words tie it to ALT
    index.ingest(hand_protocol(clauses=clauses))
    hits = index.search([LabObservation(analyte="ALT", value=65, unit="U/L")], "TG-TEST", top_k=3)
    found = next(c for c in hits if c.criterion.kind == INC and c.criterion.label == "2")
    assert found.why[0].startswith("hybrid rank") and 0 < found.score < 1


def test_a_filter_that_matches_nothing_returns_nothing(make_index):
    """llama-index's hybrid path crashes here; qdrant-client's prefetch + RRF must return an empty list."""
    index = make_index()
    index.ingest(hand_protocol())
    nothing = models.Filter(must=[models.FieldCondition(key="protocol_id", match=models.MatchValue(value="NONE"))])
    assert index._hybrid("alanine aminotransferase", nothing, 5) == []
    assert index.search([LabObservation(analyte="ALT", value=65)], "TG-TEST", kinds=[CriterionKind.DOSE_MODIFICATION]) == []
    empty = make_index("empty", collection="empty")
    assert empty._hybrid("ALT", models.Filter(), 5) == [] and empty.protocols() == []


def test_ored_filters_return_the_union(make_index):
    """llama-index returns nothing for OR'd metadata filters; MatchAny and `should` must return the union."""
    index = make_index()
    index.ingest(hand_protocol())
    any_of = models.Filter(must=[models.FieldCondition(key="analytes", match=models.MatchAny(any=["PLAT", "CRCL"]))])
    assert {r.payload["label"] for r in index._scroll(any_of)} == {"4"} and len(index._scroll(any_of)) == 2
    should = models.Filter(
        should=[
            models.FieldCondition(key="analytes", match=models.MatchValue(value="NEUT")),
            models.FieldCondition(key="kind", match=models.MatchValue(value="context")),
        ]
    )
    assert {(r.payload["kind"], r.payload["label"]) for r in index._scroll(should)} == {
        ("inclusion", "3"), ("context", "Table 4"), ("context", "Table 5")}
    hybrid = index._hybrid("platelet count creatinine clearance", any_of, 10)
    assert {(p.payload["kind"], p.payload["label"]) for p in hybrid} == {("inclusion", "4"), ("exclusion", "4")}
    kinds = index.search([LabObservation(analyte="ALT", value=65)], "TG-TEST", kinds=[INC, CTX], top_k=10)
    assert kinds and {c.criterion.kind for c in kinds} <= {INC, CTX} and {c.criterion.kind for c in kinds} == {INC, CTX}


def test_search_many_queries_once_per_analyte(make_index):
    index = make_index()
    index.ingest(hand_protocol())
    rows = [LabObservation(patient_id=str(i), analyte="ALT" if i % 2 else "PLAT", value=50 + i) for i in range(200)]
    results = index.search_many(rows, "TG-TEST")
    assert len(results) == 200 and len(index._cache) == 2
    assert _labels(results[1]) == _labels(results[3]) and "exclusion 4" in _labels(results[0])


def test_a_held_store_makes_another_client_wait_then_says_busy(tmp_path, make_index):
    """One process at a time holds the embedded store, for one operation: another waits, then gets a clear error."""
    import threading

    from retrieval.shared_local import StoreBusyError
    from retrieval.store import make_client

    make_index("locked")
    holder = make_client(path=tmp_path / "locked")
    waiter = make_client(path=tmp_path / "locked", wait_s=0.3)
    with holder.session():
        with pytest.raises(StoreBusyError, match=r"locked stayed busy for 0\.3 s"):
            waiter.count("criteria")
    assert waiter.count("criteria").count == 0  # free again once the holder's operation ended

    patient = make_client(path=tmp_path / "locked", wait_s=10)
    released = threading.Event()

    def hold_briefly():
        with holder.session():
            released.wait(5)
            time.sleep(0.3)

    thread = threading.Thread(target=hold_briefly)
    thread.start()
    try:
        time.sleep(0.1)
        released.set()
        started = time.monotonic()
        assert patient.collection_exists("criteria")
        assert time.monotonic() - started >= 0.1  # it waited for the holder instead of failing
    finally:
        thread.join()
