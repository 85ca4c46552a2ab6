"""The analyte catalog: loaded from analytes.yaml, validated once, looked up by code, synonym, SDTM code or LOINC."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError
from rapidfuzz import fuzz, process

from labs.analyte import Analyte
from labs.errors import ConfigError, TrialGuardError, UnknownAnalyteError
from labs.units import plan

DEFAULT_CATALOG = Path(__file__).with_name("analytes.yaml")

# A name this short (K, Cr, Hb, PT, GOT, BUN) is matched with its exact letter case when scanning free text, so
# that "pt" (patient), "got" or "bun" are not taken for prothrombin time, AST or urea nitrogen.
_SHORT = 3


def name_key(text: str) -> str:
    """How names are compared: case-folded, unicode-normalised, punctuation and spacing ignored (K+ keeps +)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"[\s._\-,/():;'\"]+", " ", text)
    return text.strip()


def _compact(key: str) -> str:
    return key.replace(" ", "")


class _CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    analytes: list[dict]


class Catalog:
    """Analytes plus the indexes that find them. Construct with `load_catalog`; raises ConfigError when invalid."""

    def __init__(self, analytes: list[Analyte], source: str = "<memory>"):
        self.source = source
        self.analytes = list(analytes)
        self._by_key: dict[str, Analyte] = {}
        self._by_compact: dict[str, Analyte] = {}
        self._exact_short: dict[str, Analyte] = {}
        self._by_loinc: dict[str, Analyte] = {}
        self._text_ambiguous: set[str] = set()
        codes: dict[str, Analyte] = {}
        for entry in self.analytes:
            if entry.code in codes:
                raise ConfigError(f"{source}: analyte code {entry.code} is defined twice")
            codes[entry.code] = entry
        for entry in self.analytes:
            for name in entry.names():
                key = name_key(name)
                if not key:
                    raise ConfigError(f"{source}: analyte {entry.code} has an empty synonym {name!r}")
                for index, k in ((self._by_key, key), (self._by_compact, _compact(key))):
                    other = index.get(k)
                    if other is not None and other.code != entry.code:
                        raise ConfigError(
                            f"{source}: synonym {name!r} of analyte {entry.code} is also a name of {other.code}; "
                            "a name may denote one analyte only"
                        )
                    index[k] = entry
                if len(_compact(key)) <= _SHORT:
                    self._exact_short[name.strip()] = entry
            self._text_ambiguous.update(n.strip() for n in entry.ambiguous_in_text)
            for code in entry.loinc:
                other = self._by_loinc.get(code)
                if other is not None and other.code != entry.code:
                    raise ConfigError(f"{source}: LOINC {code} is listed for both {other.code} and {entry.code}")
                self._by_loinc[code] = entry
            self._check_units(entry)
        self._choices = list(self._by_key)

    def _check_units(self, entry: Analyte) -> None:
        if not entry.quantitative:
            return
        for unit in dict.fromkeys([entry.canonical_unit, *entry.units]):
            try:
                plan(unit, entry.canonical_unit, entry)
                plan(entry.canonical_unit, unit, entry)
            except TrialGuardError as exc:
                raise ConfigError(f"{self.source}: analyte {entry.code}: unit {unit!r} does not work: {exc}") from None

    # ------------------------------------------------------------------------------------------- lookups
    def find(self, text: str) -> Analyte | None:
        """Exact lookup of a name as written (no fuzzy guessing) for scanning text: names of <= 3 characters must
        match their letter case, and names marked ambiguous_in_text (EGFR) are not matched at all."""
        if not isinstance(text, str):
            return None
        key = name_key(text)
        if not key:
            return None
        if text.strip() in self._text_ambiguous:  # as written: EGFR (the receptor) is not eGFR
            return None
        if len(_compact(key)) <= _SHORT:
            return self._exact_short.get(text.strip())
        return self._by_key.get(key) or self._by_compact.get(_compact(key))

    def get(self, name: str | Analyte) -> Analyte:
        """Lookup by code, synonym or SDTM name, case-insensitive; unknown names raise naming the closest entries."""
        if isinstance(name, Analyte):
            return name
        if not isinstance(name, str):
            raise UnknownAnalyteError(f"analyte name must be text, got {type(name).__name__} {name!r}")
        key = name_key(name)
        found = self._by_key.get(key) or self._by_compact.get(_compact(key))
        if found is not None:
            return found
        raise UnknownAnalyteError(f"unknown analyte {name!r}; closest catalog entries: {self.closest(name)}")

    def closest(self, name: str, limit: int = 3) -> str:
        key = name_key(name)
        matches = process.extract(key, self._choices, scorer=fuzz.WRatio, limit=25) if key else []
        seen: dict[str, str] = {}
        for choice, _score, _ in matches:
            analyte = self._by_key[choice]
            seen.setdefault(analyte.code, f"{analyte.code} ({analyte.name})")
            if len(seen) == limit:
                break
        return ", ".join(seen.values()) or "none"

    def by_loinc(self, code: str) -> Analyte | None:
        return self._by_loinc.get(code.strip()) if isinstance(code, str) else None


def load_catalog(path: str | Path = DEFAULT_CATALOG) -> Catalog:
    """Read and validate a catalog file; every problem is a ConfigError naming the file and the entry."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read analyte catalog: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    try:
        document = _CatalogFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: expected a mapping with one key 'analytes' (a list): {exc}") from None
    analytes = []
    for position, entry in enumerate(document.analytes, start=1):
        label = entry.get("code", f"#{position}") if isinstance(entry, dict) else f"#{position}"
        try:
            analytes.append(Analyte.model_validate(entry))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'entry'}: {err['msg']}" for err in exc.errors()
            )
            raise ConfigError(f"{path}: analyte entry {position} ({label}): {problems}") from None
    return Catalog(analytes, source=str(path))


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    return load_catalog(DEFAULT_CATALOG)
