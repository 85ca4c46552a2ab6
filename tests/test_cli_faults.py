"""Exit codes mean one thing each; a document with no eligibility criteria never becomes a 'clean' protocol."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ui.cli import INTERNAL_ERROR, app

COVER_LETTER = """Dear Investigator,

Please find enclosed the signed agreement for site 104. The monitoring visit is planned for 14 March 2024.
Contact the study team with any question about shipments or the electronic data capture system.

Kind regards,
The Study Team
"""
PROTOCOL = """PROTOCOL TG-NEW-009 Version 1.0

5. STUDY POPULATION

5.1 Inclusion Criteria
1. Adults aged 18 years or older.
2. ALT <= 2.5 x ULN.

5.2 Exclusion Criteria
1. Serum creatinine > 2.0 mg/dL.

6. TREATMENT
Study drug is given once daily.
"""


@pytest.mark.slow
def test_a_document_without_eligibility_is_refused_and_the_others_are_still_ingested(data_dir):
    letter, protocol = data_dir / "cover_letter.txt", data_dir / "tg_new_009.txt"
    letter.write_text(COVER_LETTER, encoding="utf-8")
    protocol.write_text(PROTOCOL, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(letter), str(protocol)], terminal_width=200)
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert "not ingested" in said and "cover_letter.txt" in said and "--allow-empty" in said
    listed = runner.invoke(app, ["protocols"], terminal_width=200).output
    assert "tg_new_009" in listed.lower().replace("-", "_") and "cover_letter" not in listed.lower()

    forced = runner.invoke(app, ["ingest", "--allow-empty", "--protocol-id", "LETTER-1", str(letter)])
    assert forced.exit_code == 0, forced.output
    assert "LETTER-1" in runner.invoke(app, ["protocols"], terminal_width=200).output


def test_a_fault_of_ours_exits_70_with_one_line_and_the_traceback_in_a_log(data_dir, monkeypatch):
    from ui import services

    def broken(settings):  # a fault that no input provokes: stands in for a bug
        raise KeyError("internal_key_xyz")

    monkeypatch.setattr(services, "build_index", broken)
    result = CliRunner().invoke(app, ["protocols"])
    assert result.exit_code == INTERNAL_ERROR != 1
    assert "internal error in `trialguard protocols` (KeyError)" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    log = Path(data_dir / "data" / "logs" / "cli-errors.log")
    assert str(log.resolve()) in "".join(result.output.split()) or str(log.resolve()) in result.output
    assert "internal_key_xyz" in log.read_text() and "Traceback" in log.read_text()
