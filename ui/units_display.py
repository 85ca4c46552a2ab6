"""One function that turns a unit, as TrialGuard stores it, into the way people write it on a lab report.

Stored units are the normalised strings labs.units.parse_unit returns (pint-readable: 'mL/min/bsa_1_73',
'1/uL', 'umol/L', '10^9/L'); people write 'mL/min/1.73 m²', '/µL', 'µmol/L', '10⁹/L'. Every place a unit is
shown to a person (app, CLI tables, reports, DV records) calls `show_unit`, so a unit reads the same everywhere.
It relies only on the stored unit being ASCII text in pint's notation: a unit it does not recognise is shown
as stored, never dropped or guessed.
"""

from __future__ import annotations

import re

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")

# Whole-token rewrites, applied in order: the body-surface-area unit first (it contains digits that the
# exponent rule would otherwise touch), then the micro prefix, then area exponents.
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\{?bsa_1_73\}?"), "1.73 m²"),
    (re.compile(r"1[.,]73\s*m(?:2|\^2)\b"), "1.73 m²"),
    (re.compile(r"(?<![A-Za-z])u(?=(?:L|g|mol|IU|U|kat|m3)\b)"), "µ"),
    (re.compile(r"\bm2\b"), "m²"),
    (re.compile(r"\bcopy\b"), "copies"),
    (re.compile(r"\bcell\b"), "cells"),
)
# "10^9/L" -> "10⁹/L": powers of ten as printed on lab reports.
_POWER = re.compile(r"10\^(-?\d+)")


def show_unit(unit: str | None) -> str:
    """The unit as a person writes it; '' for no unit or a dimensionless one ('1', the catalog's unitless).

    '1/uL' -> '/µL', 'mL/min/bsa_1_73' -> 'mL/min/1.73 m²', '10^9/L' -> '10⁹/L', 'umol/L' -> 'µmol/L'.
    """
    if unit is None:
        return ""
    text = unit.strip()
    if text in ("", "1", "dimensionless"):
        return ""
    text = re.sub(r"^1\s*/\s*", "/", text)  # pint's reciprocal '1/uL' is a count per microlitre: '/µL'
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    return _POWER.sub(lambda m: "10" + m.group(1).translate(_SUPERSCRIPT), text)


def with_unit(value: str, unit: str | None) -> str:
    """'65 U/L', or just '1.8' when the quantity has no unit (INR): never a dangling space or 'None'."""
    shown = show_unit(unit)
    return f"{value} {shown}" if shown else value
