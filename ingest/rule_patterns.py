"""The phrase lists of the lab-rule grammar, loaded from rule_patterns.yaml and validated on load."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from labs.errors import ConfigError

PATTERNS_FILE = Path(__file__).with_name("rule_patterns.yaml")

ComparatorSymbol = Literal["<", "<=", ">", ">="]


def _non_empty(phrases: list[str], field: str) -> list[str]:
    cleaned = [p.strip() for p in phrases]
    if not cleaned or any(not p for p in cleaned):
        raise ValueError(f"{field}: needs a non-empty list of non-empty phrases")
    return cleaned


class RulePatterns(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comparators: dict[ComparatorSymbol, list[str]]
    trailing_comparators: dict[Literal["<=", ">="], list[str]]
    uln_phrases: list[str]
    lln_phrases: list[str]
    limit_qualifiers: list[str]
    condition_cues: dict[Literal["if", "unless"], list[str]]
    condition_stops: list[str]
    condition_fillers: list[str]
    sex_words: dict[Literal["F", "M"], list[str]]
    window_units: dict[str, int]
    window_relations: list[str]
    window_anchor_stops: list[str] = []
    window_lab_subjects: list[str] = []
    negation_cues: list[str]
    not_analyte_names: list[str] = []
    count_words: list[str] = []
    trailing_negation_cues: list[str] = []
    normal_range_phrases: dict[Literal["outside", "within", "below", "above"], list[str]] = {}
    # Factors written in words, read only right before a ULN/LLN ("two times the ULN", "twice the ULN").
    number_words: dict[str, float] = {}
    # Words between a quantity and a limit name that make the quantity an offset from it ("5 seconds above ULN").
    offset_relations: dict[Literal["above", "below"], list[str]] = {}
    # Words that make a threshold a change between visits ("creatinine increase > 0.5 mg/dL", "50% decrease in").
    change_words: list[str] = []
    # Phrases after a threshold that make it a change from a reference visit ("> 0.5 mg/dL from baseline").
    baseline_phrases: list[str] = []
    # Collective names that stand for several catalog analytes at once ("transaminases" = ALT and AST).
    analyte_groups: dict[str, list[str]] = {}
    # Footnote marks that may stick to a value, unit or limit name ("90 g/L*", "1.5 x ULN†").
    footnote_marks: str = ""
    assay_property_cues: list[str] = []

    @field_validator("uln_phrases", "lln_phrases", "limit_qualifiers", "condition_stops", "condition_fillers",
                     "window_relations", "negation_cues")
    @classmethod
    def _phrases(cls, value: list[str], info) -> list[str]:
        return _non_empty(value, info.field_name)

    @field_validator("number_words")
    @classmethod
    def _numbers(cls, value: dict[str, float]) -> dict[str, float]:
        if any(not word.strip() or number <= 0 for word, number in value.items()):
            raise ValueError("number_words: each word needs a positive number")
        return {" ".join(word.lower().split()): number for word, number in value.items()}

    @field_validator("analyte_groups")
    @classmethod
    def _analyte_groups(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if any(not name.strip() or len(codes) < 2 for name, codes in value.items()):
            raise ValueError("analyte_groups: each collective name needs at least two analyte codes")
        return value

    @field_validator("comparators", "trailing_comparators", "condition_cues", "sex_words")
    @classmethod
    def _phrase_map(cls, value: dict[str, list[str]], info) -> dict[str, list[str]]:
        return {key: _non_empty(phrases, f"{info.field_name}.{key}") for key, phrases in value.items()}


def phrase_regex(phrases: list[str], *, word_boundary: bool = True) -> str:
    """One alternation, longest phrase first so "less than or equal to" wins over "less than".

    Inner spaces match any run of whitespace (PDF text wraps mid-phrase). Phrases that begin or end with a letter
    get a word boundary there, so "over" does not fire inside "overall".
    """
    parts = []
    for phrase in sorted(set(phrases), key=len, reverse=True):
        body = r"\s+".join(re.escape(word) for word in phrase.split())
        if word_boundary and phrase[0].isalnum():
            body = r"(?<![\w])" + body
        if word_boundary and phrase[-1].isalnum():
            body = body + r"(?![\w])"
        parts.append(body)
    return "(?:" + "|".join(parts) + ")"


@functools.lru_cache(maxsize=4)
def load_patterns(path: Path = PATTERNS_FILE) -> RulePatterns:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot read the rule patterns ({error})") from error
    try:
        return RulePatterns.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(f"{path}: invalid rule patterns: {error}") from error
