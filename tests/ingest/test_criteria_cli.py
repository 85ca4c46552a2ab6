"""`trialguard criteria FILE [--json]` through the real entry point: output, and failures without output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NCT06158269 = REPO / ".." / "shared" / "data" / "protocols" / "nih_docugami" / "NCT06158269_Prot_000.pdf"


def _trialguard(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DO_NOT_TRACK": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-c", "from ui.cli import main; main()", *args],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=240,
    )


@pytest.mark.slow
def test_json_output_has_the_documented_shape():
    result = _trialguard("criteria", str(NCT06158269), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["protocol_id"] == "NCT06158269"
    assert data["version"]
    criteria = data["criteria"]
    assert sum(c["kind"] == "inclusion" for c in criteria) == 13
    assert sum(c["kind"] == "exclusion" for c in criteria) == 20
    first = criteria[0]
    assert {"label", "kind", "section", "page", "text", "rules"} <= set(first)
    assert first["label"] == "1" and first["page"] == 2 and first["section"] == "Inclusion criteria"
    for criterion in criteria:
        for rule in criterion["rules"]:
            assert {"analyte", "comparator", "value", "low", "high", "unit", "multiple_of", "condition",
                    "quote"} <= set(rule)
            assert rule["quote"] in criterion["text"]


@pytest.mark.slow
def test_table_output_and_overrides(tmp_path):
    source = tmp_path / "trial.txt"
    source.write_text("Inclusion Criteria\n1. Age ≥ 18 years.\nExclusion Criteria\n1. Pregnancy.\n", encoding="utf-8")
    result = _trialguard("criteria", str(source), "--protocol-id", "TG-9", "--version", "2")
    assert result.returncode == 0, result.stderr
    assert "TG-9 version 2" in result.stdout and "Age ≥ 18 years." in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.pdf", b"", "empty"),
        ("corrupt.pdf", b"%PDF-1.4\nnot really\n", "not a readable pdf"),
        ("notes.rtf", b"{\\rtf1 hello}", "unsupported file type"),
    ],
)
def test_unreadable_file_exits_nonzero_with_a_message_and_no_output(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    result = _trialguard("criteria", str(path), "--json")
    assert result.returncode != 0
    assert result.stdout == ""
    assert name in result.stderr and reason in result.stderr.lower()
