"""Analyte catalog, units (pint) and derived values: the domain kernel every other stage relies on.

Public API (other stages code against these names):
    analyte(name) -> Analyte            catalog() -> list[Analyte]       find_analyte(text) -> Analyte | None
    analyte_by_loinc(code) -> Analyte | None
    parse_quantity(text) -> (float, str | None)                         parse_unit(text) -> str
    convert(value, from_unit, to_unit, analyte=None)                    to_canonical(value, unit, analyte)
    labs.derived: cockcroft_gault, ckd_epi_2021, anc, corrected_calcium
"""

from __future__ import annotations

from labs import derived
from labs.analyte import Analyte, Category, Scale
from labs.catalog import default_catalog
from labs.conversion import conversion_for, convert, to_canonical
from labs.quantity import parse_quantity
from labs.units import Conversion, display_unit, parse_unit


def analyte(name_or_synonym: str | Analyte) -> Analyte:
    """The analyte a code, synonym, SDTM code/name denotes (case-insensitive); UnknownAnalyteError otherwise,
    naming the closest catalog entries."""
    return default_catalog().get(name_or_synonym)


def catalog() -> list[Analyte]:
    return list(default_catalog().analytes)


def find_analyte(text: str) -> Analyte | None:
    """Exact, non-raising lookup for scanning free text (names of <= 2 letters must match their case: K, Hb, PT)."""
    return default_catalog().find(text)


def analyte_by_loinc(code: str) -> Analyte | None:
    return default_catalog().by_loinc(code)


__all__ = [
    "Analyte",
    "Category",
    "Conversion",
    "Scale",
    "analyte",
    "analyte_by_loinc",
    "catalog",
    "conversion_for",
    "convert",
    "derived",
    "display_unit",
    "find_analyte",
    "parse_quantity",
    "parse_unit",
    "to_canonical",
]
