"""Analyte catalog, units (pint) and derived values: the domain kernel every other stage relies on."""
