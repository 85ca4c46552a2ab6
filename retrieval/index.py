"""ProtocolIndex: protocol versions in Qdrant (one point per criterion) and the searches reasoning needs.

Visibility: a version is seen by searches only through its manifest record in `<collection>_versions`, which is
flipped to complete after every point is written, and every search is scoped to the manifest's file sha256. An
interrupted ingest therefore leaves points nobody sees, and re-running it finishes the job.

Sharing: on the embedded store several processes (the app, CLI ingests and screens) use one data dir. Each
operation holds the store only for its own length (retrieval/shared_local.py): an ingest embeds first and then
writes its points, manifest and deletions in one session, so two ingests take turns and a search (one session) sees
the store before or after a whole write, never half of one. The cached listing of versions is dropped when the
store's write stamp changes, so a running app sees a version another process ingested.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from qdrant_client import QdrantClient, models

from ingest.models import Criterion, CriterionKind, Protocol
from labs.observation import LabObservation
from retrieval.embedding import Embedder
from retrieval.errors import NoVersionInForceError, UnknownProtocolError
from retrieval.models import Candidate, IngestResult, ProtocolVersionInfo
from retrieval.query import query_text
from retrieval.sparse import sparse_vector
from retrieval.shared_local import generation, session
from retrieval.store import DENSE, SPARSE, ensure_criteria_collection, ensure_manifest_collection
from retrieval.word_lists import load_word_lists

POINT_NAMESPACE = uuid.UUID("5f1d7a52-3c1e-4b8e-9a57-0c7e6b1f7d11")
UPSERT_BATCH = 128
INDEX_SCHEMA = 2  # bump when the point payload changes: versions ingested under another schema are re-ingested
HYBRID_PREFETCH = 40  # candidates each of dense and sparse hand to RRF fusion
RELATED_ANALYTES_FILE = Path(__file__).with_name("related_analytes.yaml")
Progress = Callable[[int, int], None]  # (done, total)


def point_id(criterion_id: str, sha256: str) -> str:
    return str(uuid.uuid5(POINT_NAMESPACE, f"{criterion_id}|{sha256}"))


def version_key(protocol_id: str, version: str, sha256: str) -> str:
    """One keyword that scopes a search to one file of one version (one filter condition instead of three)."""
    return f"{protocol_id}|{version}|{sha256}"


def manifest_id(protocol_id: str, version: str) -> str:
    return str(uuid.uuid5(POINT_NAMESPACE, f"manifest|{protocol_id}|{version}"))


def _version_key(version: str) -> tuple:
    """Natural order: "v2.0" after "v1.10" after "v1.9"."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", version))


LEAD_IN_CHARS = 300


def lead_ins(criteria: Sequence[Criterion]) -> dict[str, str]:
    """criterion id -> the words of its parent before the sub-items ("Have HbA1c meeting the following
    criteria:"), which a sub-item such as "[3a] >= 7.0% to <= 10.0% at Visit 1" is read with."""
    by_label = {(c.kind, c.label): c for c in criteria}
    found: dict[str, str] = {}
    for criterion in criteria:
        parent = by_label.get((criterion.kind, criterion.parent_label)) if criterion.parent_label else None
        if parent is None:
            continue
        at = parent.text.find(criterion.text[:40])
        first_child = min((parent.text.find(c.text[:40]) for c in criteria if c.parent_label == parent.label
                           and c.kind == parent.kind and parent.text.find(c.text[:40]) > 0), default=-1)
        cut = first_child if first_child > 0 else (at if at > 0 else parent.text.find("\n"))
        found[criterion.id] = " ".join(parent.text[: cut if cut > 0 else LEAD_IN_CHARS].split())[:LEAD_IN_CHARS]
    return found


def dense_text(criterion: Criterion, lead_in: str = "") -> str:
    """What the dense vector reads: where the clause sits, its parent's lead-in, then its words."""
    head = " ".join(x for x in (criterion.section_title, criterion.kind.value, criterion.label) if x)
    return f"{head}: {lead_in} {criterion.text}" if lead_in else f"{head}: {criterion.text}"


def sparse_text(criterion: Criterion, lead_in: str = "") -> str:
    """What the lexical vector reads: the clause, its lead-in and the codes of the analytes its rules name."""
    return " ".join([criterion.section_title or "", lead_in, criterion.text, *criterion.analytes])


class ProtocolIndex:
    def __init__(
        self,
        client: QdrantClient,
        embedder: Embedder,
        collection: str = "trialguard_criteria",
        *,
        shards: int = 1,
        replicas: int = 1,
    ):
        self.client = client
        self.embedder = embedder
        self.collection = collection
        self.manifest_collection = f"{collection}_versions"
        with session(client):  # new empty collections change no listing: no write stamp
            ensure_criteria_collection(client, collection, embedder.dimension, shards=shards, replicas=replicas)
            ensure_manifest_collection(client, self.manifest_collection, shards=shards, replicas=replicas)
        self._related = load_word_lists(RELATED_ANALYTES_FILE, "analyte code -> list of codes")
        self._lock = threading.RLock()  # embedded Qdrant is not safe for concurrent writers
        self._cache: dict[tuple, list[Candidate]] = {}
        self._protocols: dict[tuple[str, str, str], Protocol] = {}
        self._manifests: list[ProtocolVersionInfo] | None = None
        self._query_vectors: dict[str, list[float]] = {}
        self._seen_generation = generation(client)

    # ---- ingest -------------------------------------------------------------------------------------------

    def ingest(self, protocol: Protocol, progress: Progress | None = None) -> IngestResult:
        started = time.perf_counter()
        if self._already_ingested(protocol):
            return self._skipped(protocol, started)
        # Embedding is the slow part: done before the store is taken, so other processes wait only for the writes.
        points = self._prepare_points(protocol, progress)
        with self._lock, session(self.client, write=True):
            self._invalidate()  # another process may have written since: decide on the store as it is now
            if self._already_ingested(protocol):
                return self._skipped(protocol, started)
            existing = self._manifest(protocol.protocol_id, protocol.version)
            self._upsert_points(points)
            self._write_manifest(protocol, complete=True)
            replaced = existing.sha256 if existing is not None and existing.sha256 != protocol.sha256 else None
            self._delete_stale_points(protocol)
            self._invalidate()
        return IngestResult(
            protocol_id=protocol.protocol_id, version=protocol.version, sha256=protocol.sha256, skipped=False,
            points=len(points), replaced_sha256=replaced, seconds=time.perf_counter() - started,
        )

    def _already_ingested(self, protocol: Protocol) -> bool:
        existing = self._manifest(protocol.protocol_id, protocol.version)
        return (
            existing is not None
            and existing.complete
            and existing.sha256 == protocol.sha256
            and existing.embedding_model == self.embedder.model_name
            and existing.index_schema == INDEX_SCHEMA
        )

    @staticmethod
    def _skipped(protocol: Protocol, started: float) -> IngestResult:
        return IngestResult(
            protocol_id=protocol.protocol_id, version=protocol.version, sha256=protocol.sha256,
            skipped=True, points=0, seconds=time.perf_counter() - started,
        )

    def _write_points(self, protocol: Protocol, progress: Progress | None) -> int:
        points = self._prepare_points(protocol, progress)
        with session(self.client, write=True):
            self._upsert_points(points)
        return len(points)

    def _prepare_points(self, protocol: Protocol, progress: Progress | None) -> list[models.PointStruct]:
        criteria = protocol.criteria
        ids = self._unique_point_ids(criteria, protocol.sha256)
        leads = lead_ins(criteria)
        total = len(criteria)
        if progress:
            progress(0, total)
        points: list[models.PointStruct] = []
        for start in range(0, total, UPSERT_BATCH):
            batch = criteria[start : start + UPSERT_BATCH]
            dense = self.embedder.embed([dense_text(c, leads.get(c.id, "")) for c in batch])
            points.extend(
                models.PointStruct(
                    id=ids[start + i],
                    vector={DENSE: dense[i], SPARSE: sparse_vector(sparse_text(c, leads.get(c.id, "")))},
                    payload=self._payload(protocol, c),
                )
                for i, c in enumerate(batch)
            )
            if progress:
                progress(start + len(batch), total)
        return points

    def _upsert_points(self, points: Sequence[models.PointStruct]) -> None:
        for start in range(0, len(points), UPSERT_BATCH):
            self.client.upsert(self.collection, list(points[start : start + UPSERT_BATCH]), wait=True)

    @staticmethod
    def _unique_point_ids(criteria: Sequence[Criterion], sha256: str) -> list[str]:
        seen: dict[str, int] = {}
        ids = []
        for criterion in criteria:
            n = seen.get(criterion.id, 0)
            seen[criterion.id] = n + 1
            ids.append(point_id(criterion.id if n == 0 else f"{criterion.id}#{n}", sha256))
        return ids

    @staticmethod
    def _payload(protocol: Protocol, criterion: Criterion) -> dict:
        payload = criterion.model_dump(mode="json")
        payload.update(
            criterion_id=criterion.id,
            analytes=criterion.analytes,
            effective_date=protocol.effective_date.isoformat() if protocol.effective_date else None,
            sha256=protocol.sha256,
            section=criterion.section_title,
            version_key=version_key(protocol.protocol_id, protocol.version, protocol.sha256),
        )
        return payload

    def _write_manifest(self, protocol: Protocol, *, complete: bool) -> None:
        by_kind: dict[str, int] = {}
        for criterion in protocol.criteria:
            by_kind[criterion.kind.value] = by_kind.get(criterion.kind.value, 0) + 1
        context = by_kind.get(CriterionKind.CONTEXT.value, 0)
        info = ProtocolVersionInfo(
            protocol_id=protocol.protocol_id, version=protocol.version, effective_date=protocol.effective_date,
            title=protocol.title, source_file=protocol.source_file, sha256=protocol.sha256, complete=complete,
            criteria_count=len(protocol.criteria) - context, context_count=context, counts_by_kind=by_kind,
            rules_count=sum(len(c.rules) for c in protocol.criteria), embedding_model=self.embedder.model_name,
            index_schema=INDEX_SCHEMA,
            ingested_at=dt.datetime.now(dt.timezone.utc),
        )
        payload = info.model_dump(mode="json")
        # The whole parsed protocol travels with its manifest, so a server deployment needs no shared disk.
        payload["protocol_json"] = protocol.model_dump_json()
        self.client.upsert(
            self.manifest_collection,
            [models.PointStruct(id=manifest_id(protocol.protocol_id, protocol.version), vector={}, payload=payload)],
            wait=True,
        )

    def _delete_stale_points(self, protocol: Protocol) -> None:
        """Points of the same version from another file (a replaced or interrupted ingest)."""
        self.client.delete(
            self.collection,
            points_selector=models.FilterSelector(
                filter=models.Filter(
                    must=[_match("protocol_id", protocol.protocol_id), _match("version", protocol.version)],
                    must_not=[_match("sha256", protocol.sha256)],
                )
            ),
            wait=True,
        )

    def _invalidate(self) -> None:
        self._cache.clear()
        self._manifests = None

    # ---- what the index holds -----------------------------------------------------------------------------

    def _refresh(self) -> None:
        """Drop the cached listing when another process (or this one) has written to the shared store since."""
        stamp = generation(self.client)
        if stamp != self._seen_generation:
            self._seen_generation = stamp
            self._invalidate()

    def _all_manifests(self) -> list[ProtocolVersionInfo]:
        self._refresh()
        if self._manifests is None:
            records: list[models.Record] = []
            offset = None
            with session(self.client):
                while True:
                    batch, offset = self.client.scroll(
                        self.manifest_collection, limit=256, offset=offset,
                        with_payload=models.PayloadSelectorExclude(exclude=["protocol_json"]),
                    )
                    records.extend(batch)
                    if offset is None:
                        break
            self._manifests = [ProtocolVersionInfo.model_validate(r.payload) for r in records]
        return self._manifests

    def _manifest(self, protocol_id: str, version: str) -> ProtocolVersionInfo | None:
        for info in self._all_manifests():
            if info.protocol_id == protocol_id and info.version == version:
                return info
        return None

    def protocols(self) -> list[ProtocolVersionInfo]:
        """Every completely ingested (protocol, version), by protocol id then effective date."""
        complete = [m for m in self._all_manifests() if m.complete]
        return sorted(complete, key=lambda m: (m.protocol_id, m.effective_date or dt.date.min, _version_key(m.version)))

    def versions(self, protocol_id: str) -> list[ProtocolVersionInfo]:
        found = [m for m in self.protocols() if m.protocol_id == protocol_id]
        if not found:
            known = sorted({m.protocol_id for m in self.protocols()})
            raise UnknownProtocolError(
                f"protocol {protocol_id!r} is not in the index (ingested: {', '.join(known) or 'none'}); "
                "run `trialguard ingest` on its file"
            )
        return found

    def protocol(self, protocol_id: str, version: str | None = None) -> Protocol:
        """The full parsed protocol of a version (default: the latest), for citations and reference ranges."""
        info = self._version_info(protocol_id, version or self.version_in_force(protocol_id))
        key = (info.protocol_id, info.version, info.sha256)
        if key not in self._protocols:
            records = self.client.retrieve(
                self.manifest_collection, [manifest_id(protocol_id, info.version)], with_payload=["protocol_json"]
            )
            self._protocols[key] = Protocol.model_validate_json(records[0].payload["protocol_json"])
        return self._protocols[key]

    def _version_info(self, protocol_id: str, version: str) -> ProtocolVersionInfo:
        versions = self.versions(protocol_id)
        for info in versions:
            if info.version == version:
                return info
        raise UnknownProtocolError(
            f"protocol {protocol_id!r} has no ingested version {version!r} "
            f"(ingested: {', '.join(v.version for v in versions)})"
        )

    def version_in_force(self, protocol_id: str, on_date: dt.date | None = None) -> str:
        """The latest version effective on `on_date` (no date: the latest). A version without an effective
        date counts as in force from the start."""
        versions = self.versions(protocol_id)
        if on_date is not None:
            versions = [v for v in versions if v.effective_date is None or v.effective_date <= on_date]
            if not versions:
                first = min(v.effective_date for v in self.versions(protocol_id) if v.effective_date)
                raise NoVersionInForceError(
                    f"protocol {protocol_id!r}: {on_date.isoformat()} is before its first ingested version "
                    f"(effective {first.isoformat()})"
                )
        return versions[-1].version

    # ---- search -------------------------------------------------------------------------------------------

    def related_analytes(self, analyte: str) -> list[str]:
        """The analyte plus those derived from it (CREAT -> CRCL, EGFR): their rules govern it too."""
        return [analyte, *[a for a in self._related.get(analyte, []) if a != analyte]]

    def search(
        self,
        observations: Iterable[LabObservation],
        protocol_id: str,
        on_date: dt.date | None = None,
        top_k: int = 5,
        kinds: Sequence[CriterionKind] | None = None,
    ) -> list[Candidate]:
        """Candidate criteria of the version in force on `on_date` (default: each observation's own date, else
        the latest version) for the observations' analytes: every criterion with a parsed rule on the analyte
        (or on a value derived from it), plus the `top_k` best hybrid (dense + lexical, RRF) matches beyond those.
        """
        with session(self.client):  # one consistent state of the store for the whole search
            return self._search(observations, protocol_id, on_date, top_k, kinds)

    def _search(self, observations, protocol_id, on_date, top_k, kinds) -> list[Candidate]:
        merged: dict[str, Candidate] = {}
        for observation in observations:
            version = self.version_in_force(protocol_id, on_date or observation.date)
            for candidate in self._search_analyte(protocol_id, version, observation.analyte, top_k, kinds):
                key = candidate.criterion.id
                if key not in merged:
                    merged[key] = candidate.model_copy(deep=True)
                else:
                    mine = merged[key]
                    mine.score = max(mine.score, candidate.score)
                    mine.why.extend(w for w in candidate.why if w not in mine.why)
                    mine.analytes.extend(a for a in candidate.analytes if a not in mine.analytes)
        return sorted(merged.values(), key=lambda c: -c.score)

    def search_many(
        self,
        observations: Sequence[LabObservation],
        protocol_id: str,
        on_date: dt.date | None = None,
        top_k: int = 5,
        kinds: Sequence[CriterionKind] | None = None,
    ) -> list[list[Candidate]]:
        """One candidate list per observation. Queries run once per (protocol, version, analyte) and are
        cached, so a 10,000-row lab file costs as many vector queries as it has distinct analytes."""
        with session(self.client):  # held for the batch: queries are cached per analyte, so this is short
            return [self._search([o], protocol_id, on_date, top_k, kinds) for o in observations]

    def _search_analyte(
        self, protocol_id: str, version: str, analyte: str, top_k: int, kinds: Sequence[CriterionKind] | None
    ) -> list[Candidate]:
        info = self._version_info(protocol_id, version)
        kind_values = tuple(sorted(CriterionKind(k).value for k in kinds)) if kinds else None
        key = (protocol_id, version, info.sha256, analyte, top_k, kind_values)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        codes = self.related_analytes(analyte)
        criteria = self.protocol(protocol_id, version).criteria
        if kind_values:
            criteria = [c for c in criteria if c.kind.value in kind_values]
        found: dict[str, Candidate] = {}

        # 1. exact: every criterion whose parsed rules name the analyte or one derived from it. The version's
        #    criteria are the payloads of its points, held in memory with its manifest: matching them here is
        #    the same exact test as a payload filter on `analytes`, without a filtered scan per query
        #    (embedded Qdrant evaluates filters point by point in Python).
        for criterion in criteria:
            named = [code for code in codes if code in criterion.analytes]
            if named:
                found[criterion.id] = Candidate(
                    criterion=criterion, score=1.0, why=[f"rule on {c}" for c in named], analytes=[analyte]
                )

        # 2. context segments that rule-matched criteria point to, and criteria that point to rule-matched
        #    context segments ("adequate hepatic function as defined in Table 4")
        self._follow_references(found, criteria, analyte)

        scope = [_match("version_key", version_key(protocol_id, version, info.sha256))]
        if kind_values:
            scope.append(models.FieldCondition(key="kind", match=models.MatchAny(any=list(kind_values))))
        # 3. hybrid: clauses that concern the analyte without a rule the parser could read
        text = query_text(analyte)
        hits = self._hybrid(text, models.Filter(must=scope), top_k + len(found))
        extra = 0
        for rank, point in enumerate(hits, start=1):
            criterion_id = point.payload["criterion_id"]
            if criterion_id in found:
                found[criterion_id].score += point.score
                found[criterion_id].why.append(f"hybrid rank {rank} for {analyte}")
                continue
            if extra >= top_k:
                continue
            extra += 1
            found[criterion_id] = Candidate(
                criterion=_criterion(point.payload), score=point.score,
                why=[f"hybrid rank {rank} for {analyte}"], analytes=[analyte],
            )
        result = sorted(found.values(), key=lambda c: -c.score)
        with self._lock:
            self._cache[key] = result
        return result

    @staticmethod
    def _follow_references(found: dict[str, Candidate], criteria: Sequence[Criterion], analyte: str) -> None:
        matched = list(found.values())
        wanted_labels = {ref for c in matched for ref in c.criterion.refers_to}
        context_labels = {c.criterion.label for c in matched if c.criterion.kind == CriterionKind.CONTEXT}
        if not wanted_labels and not context_labels:
            return
        for criterion in criteria:
            if criterion.id in found:
                continue
            if criterion.kind == CriterionKind.CONTEXT and criterion.label in wanted_labels:
                why = f"{criterion.label} is referred to by a rule on {analyte}"
            elif set(criterion.refers_to) & context_labels:
                why = f"refers to {', '.join(sorted(set(criterion.refers_to) & context_labels))} (rule on {analyte})"
            else:
                continue
            found[criterion.id] = Candidate(criterion=criterion, score=0.9, why=[why], analytes=[analyte])

    def _hybrid(self, text: str, scope: models.Filter, limit: int) -> list[models.ScoredPoint]:
        with self._lock:
            dense = self._query_vectors.get(text)
            if dense is None:  # one vector per analyte query text: a few dozen in all
                dense = self._query_vectors[text] = self.embedder.embed_one(text)
            response = self.client.query_points(
                self.collection,
                prefetch=[
                    models.Prefetch(query=dense, using=DENSE, filter=scope, limit=HYBRID_PREFETCH),
                    models.Prefetch(query=sparse_vector(text), using=SPARSE, filter=scope, limit=HYBRID_PREFETCH),
                ],
                query=models.FusionQuery(fusion=models.Fusion.RRF),  # prefetches are already filtered
                limit=limit,
                with_payload=True,
            )
        return response.points

    def _scroll(self, query_filter: models.Filter) -> list[models.Record]:
        records: list[models.Record] = []
        offset = None
        with self._lock:
            while True:
                batch, offset = self.client.scroll(
                    self.collection, scroll_filter=query_filter, limit=256, offset=offset, with_payload=True
                )
                records.extend(batch)
                if offset is None:
                    return records


def _match(key: str, value: str) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


def _criterion(payload: dict) -> Criterion:
    return Criterion.model_validate({name: payload[name] for name in Criterion.model_fields if name in payload})
