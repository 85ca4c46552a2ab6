"""A verdict in the words of its criterion's kind ("⛔ EXCLUDED", "✅ not triggered"), from verdict_words.yaml.

The enum says whether the patient's data breaks the criterion; a CRA reads "meets exclusion criterion 4" as
"is excluded". So every screen and file a person reads renders a verdict through `words`, never `.value`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

from ingest.models import CriterionKind
from reasoning.models import Verdict

VOCABULARY = Path(__file__).with_name("verdict_words.yaml")


class KindWords(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    MEETS: str
    VIOLATES: str
    INDETERMINATE: str
    NOT_APPLICABLE: str
    NEEDS_REVIEW: str


class Vocabulary(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: dict[CriterionKind, KindWords]

    @model_validator(mode="after")
    def _every_kind(self) -> Vocabulary:
        missing = set(CriterionKind) - set(self.kinds)
        if missing:
            raise ValueError(f"{VOCABULARY.name}: no words for {sorted(k.value for k in missing)}")
        return self


@cache
def vocabulary() -> Vocabulary:
    return Vocabulary.model_validate(yaml.safe_load(VOCABULARY.read_text(encoding="utf-8")))


def words(verdict: Verdict, kind: CriterionKind) -> str:
    return getattr(vocabulary().kinds[kind], verdict.value)


def kind_name(kind: CriterionKind) -> str:
    """"dose modification", not the enum's "dose_modification"."""
    return vocabulary().kinds[kind].name
