"""The corpus gold as one typed model: the single normalisation layer over the four labelling groups' files.

Reads ../shared/data/protocols/corpus/gold/{counts,rules,nonlab}_<group>.jsonl|json (format: that folder's
README.md). The groups differ (README "Where the groups differ"); every difference is settled here and nowhere
else, so the scorer (eval/corpus_score.py) sees one shape:

* Eligibility sets. Any top-level object of a protocol that has `labels` is a set; its kind is its `kind` field or
  the key's first word (`inclusion`, `exclusion_booster` -> exclusion). Group C's `subsets` (a list whose
  numbering restarts under sub-headings) become one set each, with their own pages. Group B/D extra keys
  (`inclusion_group2`, `inclusion_infants`) are sets of their own. Labels are unique within a set only.
* Synopsis pages are read from each set and from the protocol's top level (group D keeps them there).
* Rule rows. `label` and `label_path` are both kept: group C writes the letter into `label` ("9a"), group D into
  `label_path` ("8.d"); the scorer accepts either. A row is *optional* (neither a hit when found nor required)
  when the README says so: it has a `role` (restatement, branch precondition, exception, re-screen trigger); it
  says "within/below/above the normal range" without a number (coded `1 x LLN/ULN` by group A, non-lab by C);
  or it is a definition analyte (FSH inside a menopause definition). Rows with `measure: change` are a separate
  class (a change between visits, which one value cannot decide). Rows with `alt_unit_of` are the same limit in
  another unit: they are grouped with their first-unit row into one limit.
* Analyte codes are resolved to catalog codes with `labs.analyte` (its synonyms map ANC -> NEUT, DBILI ->
  BILDIR, QTC -> QTCF, ...) plus the aliases in eval/corpus.yaml; a code the catalog lacks stays as printed in
  the gold, so a rule on it can only be missed (the report says "not in catalog").
* Quotes: the README's private-use map plus U+F03C/U+F03E (group D kept those raw), applied by `normalise_quote`
  to gold and parsed text alike.

Relies on: the README's field names; a set object always carries `labels`; rule/nonlab rows carry `protocol`
(or `file`), `kind` and `page`. A file that breaks these raises GoldError naming the file and row.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = REPO_ROOT / ".." / "shared" / "data" / "protocols" / "corpus"
GOLD_DIR = CORPUS_DIR / "gold"
CONFIG_FILE = Path(__file__).with_name("corpus.yaml")

Kind = Literal["inclusion", "exclusion"]
_KINDS = ("inclusion", "exclusion")


class GoldError(ValueError):
    """A gold file that does not have the shape the README describes; names the file and the row."""


class Bound(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min: float | None = None
    max: float | None = None

    def holds(self, value: float) -> bool:
        return value >= self.min if self.min is not None else value <= (self.max if self.max is not None else value)

    def __str__(self) -> str:
        return f">= {self.min}" if self.min is not None else f"<= {self.max}"


class CorpusConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    goals: dict[str, Bound]
    analyte_aliases: dict[str, str] = Field(default_factory=dict)
    definition_analytes: list[str] = Field(default_factory=list)
    quote_map: dict[str, str] = Field(default_factory=dict)
    fast_subset: list[str] = Field(min_length=1)


@lru_cache(maxsize=1)
def load_config(path: Path = CONFIG_FILE) -> CorpusConfig:
    try:
        return CorpusConfig.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValidationError) as exc:
        raise GoldError(f"{path}: invalid corpus settings: {exc}") from exc


class GoldSet(BaseModel):
    """One eligibility list of one protocol, as printed in its body section."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(description="counts key, with '/<sub-heading>' for a group-C subset")
    kind: Kind
    name: str | None = None
    section: str | None = None
    labels: list[str]
    labels_printed: bool = True
    start_page: int | None = None
    end_page: int | None = None
    first_item_page: int | None = None


class GoldRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="<group>:<row id>")
    protocol: str
    kind: Kind
    label: str
    label_path: str | None = None
    criteria_set: str | None = None
    page: int
    analyte: str = Field(description="catalog code where the catalog knows the analyte, else the gold code")
    gold_analyte: str
    in_catalog: bool
    comparator: Literal["<", "<=", ">", ">=", "between"]
    value: float | None = None
    low: float | None = None
    high: float | None = None
    unit: str | None = None
    multiple_of: Literal["ULN", "LLN"] | None = None
    offset_from: str | None = None
    measure: str | None = None
    alt_unit_of: str | None = Field(default=None, description="id of the row giving the same limit in its first unit")
    optional: str | None = Field(default=None, description="why a match is neither required nor a hit")
    quote: str

    @property
    def limit_id(self) -> str:
        """Rows that state one limit in several units share this id (the first-unit row's)."""
        return self.alt_unit_of or self.id


class GoldNonlab(BaseModel):
    model_config = ConfigDict(extra="forbid")

    protocol: str
    kind: Kind
    label: str
    page: int
    what: str
    quote: str
    category: str | None = None


class GoldProtocol(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="the PDF's file name without .pdf")
    group: str
    eligibility: bool
    text_layer: str = "ok"
    pdf_pages: int | None = None
    sets: list[GoldSet] = Field(default_factory=list)
    synopsis_pages: list[int] = Field(default_factory=list)
    rules: list[GoldRule] = Field(default_factory=list)
    nonlab: list[GoldNonlab] = Field(default_factory=list)

    @property
    def pdf(self) -> Path:
        return CORPUS_DIR / f"{self.name}.pdf"


def normalise_quote(text: str, config: CorpusConfig | None = None) -> str:
    """Text for comparing quotes: private-use glyphs mapped, NFKC, case folded, all whitespace removed.

    Whitespace goes entirely because pypdf splits words ("ti me") and line breaks differ between readers; the
    comparison is then on the characters a reader sees.
    """
    config = config or load_config()
    for raw, mapped in config.quote_map.items():
        text = text.replace(raw, mapped)
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


def resolve_analyte(code: str, config: CorpusConfig | None = None) -> tuple[str, bool]:
    """The catalog code for a gold analyte code, and whether the catalog knows it."""
    import labs

    config = config or load_config()
    code = config.analyte_aliases.get(code, code)
    try:
        return labs.analyte(code).code, True
    except Exception:  # noqa: BLE001 - any lookup failure means the catalog does not know this code
        return code, False


_NORMAL_RANGE = re.compile(r"(?i)normal\s*range|within\s*normal|institutional")
_NAMED_LIMIT = re.compile(r"(?i)\bULN\b|\bLLN\b|limit\s*of\s*(?:the\s*)?normal|upper\s*limit|lower\s*limit")


def optional_reason(row: dict, config: CorpusConfig | None = None) -> str | None:
    """Why a gold rule row is optional (README "Where the groups differ"), or None when it is required."""
    config = config or load_config()
    if row.get("role"):
        return f"role {row['role']}"
    if (row.get("multiple_of") and row.get("value") == 1 and _NORMAL_RANGE.search(row.get("quote", ""))
            and not _NAMED_LIMIT.search(row.get("quote", ""))):
        return "'normal range' wording without a number"
    if row.get("analyte") in config.definition_analytes:
        return "part of a definition (menopause)"
    return None


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise GoldError(f"{path}:{number}: not JSON: {exc}") from exc
    return rows


def _kind_of(key: str, value: dict) -> str | None:
    kind = value.get("kind") or key.split("_")[0]
    return kind if kind in _KINDS else None


def _sets(name: str, entry: dict, path: Path) -> tuple[list[GoldSet], set[int]]:
    sets: list[GoldSet] = []
    synopsis = set(entry.get("synopsis_pages") or [])
    for key, value in entry.items():
        if not isinstance(value, dict) or "labels" not in value:
            continue
        kind = _kind_of(key, value)
        if kind is None:
            raise GoldError(f"{path}: {name}.{key}: a set whose kind is neither inclusion nor exclusion")
        synopsis |= set(value.get("synopsis_pages") or [])
        common = {"kind": kind, "section": value.get("section"),
                  "labels_printed": value.get("labels_printed", True)}
        subsets = value.get("subsets") or []
        if subsets:  # group C: numbering restarts under sub-headings; each sub-list is a set of its own
            for sub in subsets:
                sets.append(GoldSet(key=f"{key}/{sub.get('heading')}", name=sub.get("heading"),
                                    labels=[str(x) for x in sub["labels"]], start_page=sub.get("start_page"),
                                    end_page=sub.get("end_page"), first_item_page=sub.get("first_item_page"),
                                    **common))
            continue
        sets.append(GoldSet(key=key, name=value.get("set_name") or value.get("set_heading"),
                            labels=[str(x) for x in value["labels"]], start_page=value.get("start_page"),
                            end_page=value.get("end_page"), first_item_page=value.get("first_item_page"), **common))
    return sets, synopsis


def _protocol_of(row: dict) -> str:
    return row.get("protocol") or Path(row["file"]).stem


def _rule(group: str, row: dict, path: Path, config: CorpusConfig) -> GoldRule:
    analyte, known = resolve_analyte(row["analyte"], config)
    low, high = row.get("low"), row.get("high")
    try:
        return GoldRule(
            id=f"{group}:{row['id']}", protocol=_protocol_of(row), kind=row["kind"], label=str(row["label"]),
            label_path=row.get("label_path"), criteria_set=row.get("criteria_set"), page=row["page"],
            analyte=analyte, gold_analyte=row["analyte"], in_catalog=known, comparator=row["comparator"],
            value=row.get("value"), low=low, high=high, unit=row.get("unit"), multiple_of=row.get("multiple_of"),
            offset_from=row.get("offset_from"), measure=row.get("measure"),
            alt_unit_of=None if row.get("alt_unit_of") is None else f"{group}:{row['alt_unit_of']}",
            optional=optional_reason(row, config), quote=row["quote"],
        )
    except (KeyError, ValidationError) as exc:
        raise GoldError(f"{path}: row id {row.get('id')}: {exc}") from exc


def load_gold(gold_dir: Path = GOLD_DIR, config: CorpusConfig | None = None) -> list[GoldProtocol]:
    """Every protocol of every group, in file-name order."""
    config = config or load_config()
    gold_dir = Path(gold_dir)
    counts_files = sorted(gold_dir.glob("counts_*.json"))
    if not counts_files:
        raise GoldError(f"{gold_dir}: no counts_<group>.json files (is ../shared beside the repo?)")
    protocols: dict[str, GoldProtocol] = {}
    for counts_file in counts_files:
        group = counts_file.stem.split("_", 1)[1]
        for name, entry in json.loads(counts_file.read_text(encoding="utf-8")).items():
            sets, synopsis = _sets(name, entry, counts_file)
            protocols[name] = GoldProtocol(
                name=name, group=group, eligibility=entry.get("eligibility", True),
                text_layer=entry.get("text_layer", "ok"), pdf_pages=entry.get("pdf_pages"), sets=sets,
                synopsis_pages=sorted(synopsis))
        for path, target in ((gold_dir / f"rules_{group}.jsonl", "rules"), (gold_dir / f"nonlab_{group}.jsonl", "nonlab")):
            if not path.exists():
                continue
            for row in _read_jsonl(path):
                name = _protocol_of(row)
                if name not in protocols:
                    raise GoldError(f"{path}: row for {name}, which {counts_file.name} does not list")
                if target == "rules":
                    protocols[name].rules.append(_rule(group, row, path, config))
                else:
                    protocols[name].nonlab.append(GoldNonlab(
                        protocol=name, kind=row["kind"], label=str(row["label"]), page=row["page"],
                        what=row.get("what", ""), quote=row["quote"], category=row.get("category")))
    return [protocols[name] for name in sorted(protocols)]
