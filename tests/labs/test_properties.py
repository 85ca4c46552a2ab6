"""Property tests: every supported unit pair round-trips, and arbitrary text never escapes our error types."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labs
from labs.errors import TrialGuardError

QUANTITATIVE = [a for a in labs.catalog() if a.quantitative]
PAIRS = [
    (a.code, src, dst)
    for a in QUANTITATIVE
    for src, dst in itertools.permutations(dict.fromkeys([a.canonical_unit, *a.units]), 2)
]
# Spelling fragments as they occur in lab files, to push the normaliser harder than random unicode does.
FRAGMENTS = ["x", "×", "10", "^", "⁹", "9", "*", "E", "/", "L", "l", "uL", "µ", "μ", "mm3", "³", "mg", "dL", "MG",
             "mmol", "mEq", "U", "IU", "kat", "%", "1.73", "m²", "m2", "{copies}", "[IU]", "(", ")", " ", ".", ",",
             "THOU", "MILL", "GI", "TI", "K", "M", "G", "T", "cells", "copies", "ms", "sec", "-", "+", "0", "e", "h"]


def test_there_are_many_pairs_to_check():
    assert len(QUANTITATIVE) >= 45 and len(PAIRS) >= 200


@pytest.mark.parametrize("code,src,dst", PAIRS)
def test_every_supported_pair_round_trips(code, src, dst):
    for value in (0.001, 0.7, 1.0, 42.0, 12345.6):
        there = labs.convert(value, src, dst, code)
        back = labs.convert(there, dst, src, code)
        assert math.isclose(back, value, rel_tol=1e-9, abs_tol=1e-9), (code, src, dst, value, there, back)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pair=st.sampled_from(PAIRS), value=st.floats(min_value=1e-6, max_value=1e9, allow_nan=False))
def test_round_trip_property(pair, value):
    code, src, dst = pair
    back = labs.convert(labs.convert(value, src, dst, code), dst, src, code)
    assert math.isclose(back, value, rel_tol=1e-9, abs_tol=1e-6)


@settings(max_examples=200, deadline=None)
@given(pair=st.sampled_from(PAIRS), value=st.floats(min_value=1e-3, max_value=1e6))
def test_conversion_is_monotonic_and_goes_through_canonical(pair, value):
    code, src, dst = pair
    canonical = labs.analyte(code).canonical_unit
    direct = labs.convert(value, src, dst, code)
    via = labs.convert(labs.convert(value, src, canonical, code), canonical, dst, code)
    assert math.isclose(direct, via, rel_tol=1e-9, abs_tol=1e-9)
    assert labs.convert(value * 2, src, dst, code) > direct  # all our scales increase with the value


def _only_our_errors(function, *args):
    try:
        function(*args)
    except TrialGuardError:
        pass


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=60))
def test_parse_quantity_and_unit_never_raise_foreign_errors(text):
    _only_our_errors(labs.parse_quantity, text)
    _only_our_errors(labs.parse_unit, text)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=8).map("".join))
def test_lab_like_unit_soup_never_raises_foreign_errors(text):
    _only_our_errors(labs.parse_unit, text)
    _only_our_errors(labs.parse_quantity, "1.5 " + text)
    _only_our_errors(labs.convert, 1.0, text, "mg/dL", "CREAT")
    _only_our_errors(labs.convert, 1.0, "10^9/L", text, "PLAT")


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=40))
def test_analyte_lookup_never_raises_foreign_errors(text):
    _only_our_errors(labs.analyte, text)
    assert labs.find_analyte(text) is None or labs.find_analyte(text).code
    assert labs.analyte_by_loinc(text) is None or labs.analyte_by_loinc(text).loinc


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(QUANTITATIVE), st.sampled_from(["ALT", "x", "mg/dL", "", "%", "mEq/L", "10^9/L"]))
def test_convert_with_any_catalog_analyte_raises_only_our_errors(analyte, unit):
    _only_our_errors(labs.convert, 1.0, unit, analyte.canonical_unit, analyte)
