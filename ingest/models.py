"""The parsed protocol: pages, sections, criteria with their exact text, and the lab rules inside them."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from labs.observation import Sex
from labs.reference_range import ReferenceRange


class CriterionKind(str, Enum):
    INCLUSION = "inclusion"
    EXCLUSION = "exclusion"
    DISCONTINUATION = "discontinuation"  # stopping / withdrawal rules, judged on on-study labs
    DOSE_MODIFICATION = "dose_modification"
    CONTEXT = "context"  # definitions, lab tables, footnotes that criteria refer to


class Comparator(str, Enum):
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    BETWEEN = "between"  # low <= x <= high


class AlternativeThreshold(BaseModel):
    """The same limit restated in another unit, e.g. the "[221 µmol/L]" of "> 2.5 mg/dL [221 µmol/L]"."""

    model_config = ConfigDict(extra="forbid")

    value: float | None = None
    low: float | None = None
    high: float | None = None
    unit: str


class LabRule(BaseModel):
    """One numeric threshold on one analyte, exactly as a criterion states it.

    The threshold is what the text says: for an inclusion criterion it is the requirement, for an exclusion
    criterion it is the excluding condition. `multiple_of` set means `value`/`low`/`high` are multiples of the
    observation's ULN/LLN and `unit` is None.
    """

    model_config = ConfigDict(extra="forbid")

    analyte: str = Field(description="analyte catalog code")
    comparator: Comparator
    value: float | None = None
    low: float | None = None
    high: float | None = None
    unit: str | None = None
    multiple_of: Literal["ULN", "LLN"] | None = None
    # "aPTT >= 5 seconds above ULN": the limit is ULN + value (in `unit`), not a multiple; a limit below the LLN
    # ("2 g/dL below the LLN") has a negative value; "> 2 g/dL below the LLN" reads "Hb < LLN - 2".
    offset_from: Literal["ULN", "LLN"] | None = None
    # "change": the limit is on a change between visits ("creatinine increase >= 0.5 mg/dL from baseline", "50%
    # decrease"); one value cannot decide it.
    measure: Literal["level", "change"] = "level"
    alternatives: list[AlternativeThreshold] = Field(default_factory=list)
    condition: str | None = Field(default=None, description="clinical condition this threshold depends on")
    condition_type: Literal["if", "unless"] | None = Field(
        default=None,
        description="'if': the rule applies only when the condition holds; 'unless': it does not apply then",
    )
    sex: Sex | None = None
    window_days: int | None = Field(default=None, description="lab must be within N days before the anchor")
    window_anchor: str | None = None
    quote: str = Field(description="verbatim span of the criterion text this rule was read from")
    start: int = Field(default=0, description="offset of `quote` in the criterion text")
    end: int = 0
    source: Literal["parsed", "reviewer"] = "parsed"


class Page(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: int = Field(description="1-based page number in the original document")
    text: str = Field(description="normalized text of the page")
    char_start: int = Field(description="offset of this page in Protocol.text")
    # A page whose text layer was garbled or absent is read by OCR: citations from it say so, and their quotes
    # are verbatim against the OCR text, not against what the PDF's own text layer holds.
    source: Literal["text", "ocr"] = Field(default="text", description="'ocr': the text was read by Tesseract")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str | None = None
    title: str
    page_start: int
    page_end: int
    char_start: int
    char_end: int


class Criterion(BaseModel):
    """A criteria-aware segment: one criterion (or context segment) with its exact words and location."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="stable id: protocol:version:kind:label")
    protocol_id: str
    version: str
    kind: CriterionKind
    criteria_set: str = Field(
        default="",
        description="the eligibility set it belongs to (a part, cohort or step); the kind's name where the "
        "protocol has one set of that kind. Labels are unique within a set.",
    )
    label: str
    parent_label: str | None = None
    section_number: str | None = None
    section_title: str | None = None
    page_start: int
    page_end: int
    text: str = Field(description="verbatim normalized text; a substring of Protocol.text")
    char_start: int = Field(description="offset of `text` in Protocol.text")
    char_end: int
    rules: list[LabRule] = Field(default_factory=list)
    refers_to: list[str] = Field(default_factory=list, description="tables/definitions it points to")

    @model_validator(mode="after")
    def _plain_set(self) -> Criterion:
        if not self.criteria_set:
            self.criteria_set = self.kind.value  # records written before sets existed read as the plain set
        return self

    @property
    def analytes(self) -> list[str]:
        return sorted({rule.analyte for rule in self.rules})


class EligibilitySet(BaseModel):
    """What ingestion found for one set of criteria: where it stands and how many top-level criteria it holds."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: CriterionKind
    count: int = Field(description="top-level criteria")
    section_number: str | None = None
    section_title: str
    page_start: int
    page_end: int
    source: Literal["body", "synopsis"] = Field(
        default="body", description="'synopsis': no body section was found, the synopsis restatement is used"
    )
    found_by: Literal["outline", "toc", "text"] = Field(
        default="text", description="what located the section: PDF bookmarks, the table of contents, or headings"
    )


class Protocol(BaseModel):
    model_config = ConfigDict(extra="forbid")

    protocol_id: str
    version: str
    title: str | None = None
    effective_date: dt.date | None = None
    source_file: str
    sha256: str
    pages: list[Page]
    sections: list[Section] = Field(default_factory=list)
    criteria: list[Criterion] = Field(default_factory=list)
    eligibility_sets: list[EligibilitySet] = Field(default_factory=list)
    reference_ranges: list[ReferenceRange] = Field(default_factory=list)
    problems: list[str] = Field(
        default_factory=list, description="what was read but not used, e.g. lab-manual rows that make no sense"
    )

    @property
    def text(self) -> str:
        return "".join(page.text for page in self.pages)
