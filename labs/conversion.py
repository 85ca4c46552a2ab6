"""convert() and to_canonical(): the public face of unit conversion, resolving analyte names via the catalog."""

from __future__ import annotations

import numbers

import numpy as np

from labs.analyte import Analyte
from labs.catalog import default_catalog
from labs.errors import UnitError
from labs.units import Conversion, plan


def conversion_for(from_unit: str, to_unit: str, analyte: str | Analyte | None = None) -> Conversion:
    """The conversion plan (factor, offset, the molar mass/valence/formula used) without applying it."""
    resolved = default_catalog().get(analyte) if analyte is not None else None
    return plan(from_unit, to_unit, resolved)


def _as_number(value):
    if isinstance(value, np.ndarray):
        if not np.issubdtype(value.dtype, np.number) or np.issubdtype(value.dtype, np.complexfloating):
            raise UnitError(f"cannot convert an array of dtype {value.dtype}; expected real numbers")
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if isinstance(value, (list, tuple)) or hasattr(value, "__array__"):  # lists, pandas Series
            try:
                return _as_number(np.asarray(value, dtype=float))
            except (TypeError, ValueError):
                raise UnitError(f"cannot convert {type(value).__name__}: it holds values that are not numbers") from None
        raise UnitError(f"cannot convert {value!r}: not a number")
    return float(value)


def convert(value, from_unit: str, to_unit: str, analyte: str | Analyte | None = None):
    """Convert a number or numpy array from one unit to another; `analyte` supplies molar mass, valence and
    special scales (HbA1c NGSP/IFCC). The factor is computed once per (units, analyte) and cached."""
    number = _as_number(value)
    result = conversion_for(from_unit, to_unit, analyte).apply(number)
    return float(result) if not isinstance(result, np.ndarray) else result


def to_canonical(value, unit: str, analyte: str | Analyte) -> tuple:
    """(value in the analyte's canonical unit, that unit)."""
    resolved = default_catalog().get(analyte)
    return convert(value, unit, resolved.canonical_unit, resolved), resolved.canonical_unit
