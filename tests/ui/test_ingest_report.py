"""The ingest report: one checklist and one count for `trialguard ingest`, `trialguard criteria` and the app;
units shown as people write them. Protocol texts are written fresh for these tests."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from ui.cli import app
from ui.ingest_report import Level, count_criteria, ingest_report
from ui.units_display import show_unit

FRESH = """PROTOCOL TG-FRESH-021 Version 3.1
Effective date: 2025-04-09

5. STUDY POPULATION

5.1 Inclusion Criteria
1. Adults aged 18 years or older.
2. Absolute neutrophil count >= 1,500/uL.
3. Estimated GFR >= 45 mL/min/1.73 m2.
4. Serum ferritin < 30 ng/mL.

5.2 Exclusion Criteria
1. Serum creatinine > 2.0 mg/dL.
2. Known HIV infection.
4. INR > 1.5.

6. TREATMENT
Study drug is given once daily.
"""


@pytest.fixture
def fresh(tmp_path):
    path = tmp_path / "tg_fresh_021.txt"
    path.write_text(FRESH, encoding="utf-8")
    return path


@pytest.fixture
def parsed(fresh):
    from ingest import parse_protocol

    return parse_protocol(fresh)


@pytest.mark.parametrize(("stored", "shown"), [
    ("1/uL", "/µL"), ("mL/min/bsa_1_73", "mL/min/1.73 m²"), ("umol/L", "µmol/L"), ("10^9/L", "10⁹/L"),
    ("U/L", "U/L"), ("mg/dL", "mg/dL"), ("1", ""), (None, ""), ("cells/uL", "cells/µL"), ("mU/L", "mU/L"),
])
def test_units_are_shown_as_people_write_them(stored, shown):
    assert show_unit(stored) == shown


def test_every_parsed_unit_reads_without_internal_names(parsed):
    from ui.rule_text import describe_rule

    lines = [describe_rule(r) for c in parsed.criteria for r in c.rules]
    assert lines, "the fresh protocol has lab rules"
    for line in lines:
        assert "bsa_1_73" not in line and "1/uL" not in line and not re.search(r"\bu(?:mol|L)\b", line), line
    assert any("/µL" in line for line in lines) and any("mL/min/1.73 m²" in line for line in lines)


def test_checklist_states_sets_version_date_gaps_and_unread_thresholds(parsed):
    report = ingest_report(parsed)
    texts = [i.text for i in report.items]
    sets = [t for t in texts if " set '" in t]
    assert len(sets) == 2 and all("from the body" in t and "p. " in t for t in sets), sets
    assert any("version 3.1: read from the document" in t for t in texts), texts
    assert any("effective date 2025-04-09: read from the document" in t for t in texts), texts
    # Exclusion 3 is missing: the ingestion's numbering check reports it, the checklist shows it.
    assert any(i.topic == "numbering" and i.level is Level.CHECK for i in report.items), texts
    # Ferritin is no catalog test: its threshold is listed, linked to its criterion.
    unread = [i for i in report.items if "ng/mL" in i.text]
    assert len(unread) == 1 and unread[0].criterion_id and unread[0].criterion_id.endswith(":4"), unread
    # Thresholds that are read (creatinine, neutrophils, eGFR, INR) are not listed as unread.
    assert not any("threshold not read" in i.text and ("mg/dL" in i.text or "INR" in i.text) for i in report.items)


def test_version_and_date_not_found_are_said(tmp_path):
    from ingest import parse_protocol

    path = tmp_path / "no_version.txt"
    path.write_text(re.sub(r"PROTOCOL .*\nEffective date: .*\n", "A STUDY OF A NEW DRUG\n", FRESH), encoding="utf-8")
    report = ingest_report(parse_protocol(path))
    checks = {i.topic: i for i in report.items if i.topic in ("version", "date")}
    assert checks["version"].level is Level.CHECK and "NOT FOUND" in checks["version"].text
    assert checks["date"].level is Level.CHECK and "NOT FOUND" in checks["date"].text
    given = ingest_report(parse_protocol(path, version="2"), given_version="2")
    assert any(i.topic == "version" and "given at ingest" in i.text for i in given.items)


def test_count_leaves_context_segments_apart(parsed):
    count = count_criteria(parsed)
    from ingest.models import CriterionKind

    assert count.criteria == sum(c.kind is not CriterionKind.CONTEXT for c in parsed.criteria)
    assert count.criteria + count.context == len(parsed.criteria)


@pytest.mark.slow
def test_cli_ingest_shows_the_checklist_says_already_ingested_and_counts_agree(data_dir, fresh, parsed):
    runner = CliRunner()
    def said(result) -> str:  # rich wraps at the console width: compare the words
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())

    first = said(runner.invoke(app, ["ingest", str(fresh)], terminal_width=250))
    sentence = count_criteria(parsed).sentence()
    assert "ingested, " in first and sentence in first, first
    assert "ng/mL" in first and "CHECK numbering" in first and "ALREADY INGESTED" not in first
    again = said(runner.invoke(app, ["ingest", str(fresh)], terminal_width=250))
    assert "ALREADY INGESTED" in again and sentence in again, again
    listed = said(runner.invoke(app, ["criteria", str(fresh)], terminal_width=250))
    assert sentence in listed, listed
    from ui.services import build_index
    from ui.settings import Settings

    info = next(i for i in build_index(Settings()).protocols() if i.protocol_id == parsed.protocol_id)
    assert (info.criteria_count, info.rules_count) == (count_criteria(parsed).criteria, count_criteria(parsed).rules)


def test_a_stored_version_does_not_claim_where_its_version_came_from(parsed):
    items = {i.topic: i for i in ingest_report(parsed, at_ingest=False).items if i.topic in ("version", "date")}
    assert "as recorded at ingest" in items["version"].text and "read from the document" not in items["version"].text
    undated = ingest_report(parsed.model_copy(update={"effective_date": None}), at_ingest=False)
    assert any(i.topic == "date" and i.level is Level.CHECK for i in undated.items)
