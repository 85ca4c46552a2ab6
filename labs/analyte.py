"""One catalog entry: what a lab test is called, coded and measured in (the data model behind analytes.yaml)."""

from __future__ import annotations

import re
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Category(str, Enum):
    LIVER = "liver"
    RENAL = "renal"
    HAEMATOLOGY = "haematology"
    COAGULATION = "coagulation"
    ELECTROLYTES = "electrolytes"
    GLYCAEMIA = "glycaemia"
    LIPIDS = "lipids"
    CARDIAC = "cardiac"
    ECG = "ecg"
    THYROID = "thyroid"
    PANCREAS = "pancreas"
    VIROLOGY = "virology"
    PREGNANCY = "pregnancy"
    INFLAMMATION = "inflammation"
    VITAMINS = "vitamins"
    URINALYSIS = "urinalysis"
    OTHER = "other"


class Scale(str, Enum):
    """Quantitative results convert between units; ordinal/nominal ones (1+, 'yellow', 'positive') never do."""

    QUANTITATIVE = "quantitative"
    ORDINAL = "ordinal"
    NOMINAL = "nominal"


class AffineConversion(BaseModel):
    """A conversion that is not a unit factor, e.g. HbA1c NGSP % -> IFCC mmol/mol: to = slope * from + intercept.

    Units listed in `from_units` are on the source scale, those in `to_units` on the target scale; within one
    scale ordinary unit factors apply (% <-> fraction). `from_unit`/`to_unit` anchor the formula.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    from_unit: str
    to_unit: str
    from_units: list[str]
    to_units: list[str]
    slope: float = Field(gt=0)
    intercept: float = 0.0
    source: str

    @model_validator(mode="after")
    def _anchors_listed(self) -> AffineConversion:
        if self.from_unit not in self.from_units:
            raise ValueError(f"from_unit {self.from_unit!r} must be one of from_units {self.from_units}")
        if self.to_unit not in self.to_units:
            raise ValueError(f"to_unit {self.to_unit!r} must be one of to_units {self.to_units}")
        return self


class Analyte(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[A-Z0-9]{1,12}$")
    name: str
    category: Category
    loinc: list[str] = Field(default_factory=list)
    synonyms: list[str] = Field(default_factory=list)
    sdtm_codes: list[str] = Field(default_factory=list)
    canonical_unit: str
    units: list[str] = Field(default_factory=list, description="units labs report it in; each converts")
    molar_mass: float | None = Field(default=None, gt=0, description="g/mol, for mass <-> substance")
    valence: int | None = Field(default=None, ge=1, le=4, description="charge per ion, for mEq <-> mmol")
    scale: Scale = Scale.QUANTITATIVE
    affine: list[AffineConversion] = Field(default_factory=list)
    ambiguous_in_text: list[str] = Field(
        default_factory=list,
        description="names find_analyte() never matches in running text because there they usually mean something "
        "else (EGFR the receptor); analyte() still resolves them",
    )

    @field_validator("loinc")
    @classmethod
    def _loinc_shape(cls, codes: list[str]) -> list[str]:
        for code in codes:
            if not re.fullmatch(r"\d{1,7}-\d", code):
                raise ValueError(f"LOINC code {code!r} is not of the form 12345-6")
        return codes

    @model_validator(mode="after")
    def _ambiguous_are_names(self) -> Analyte:
        unknown = [n for n in self.ambiguous_in_text if n not in self.names()]
        if unknown:
            raise ValueError(f"ambiguous_in_text lists {unknown}, which are not names of {self.code}")
        return self

    @property
    def quantitative(self) -> bool:
        return self.scale is Scale.QUANTITATIVE

    def names(self) -> list[str]:
        """Every string that denotes this analyte: code, name, synonyms and SDTM codes/names."""
        return [self.code, self.name, *self.synonyms, *self.sdtm_codes]

    def conversion_key(self) -> tuple:
        """What a unit conversion for this analyte depends on (used to cache conversion plans)."""
        affine = tuple(
            (a.from_unit, a.to_unit, tuple(a.from_units), tuple(a.to_units), a.slope, a.intercept) for a in self.affine
        )
        return (self.code, self.canonical_unit, self.molar_mass, self.valence, self.scale, affine)

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"
