"""`trialguard convert` through the real typer app."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from ui.cli import app

runner = CliRunner()


def test_convert_prints_value_and_factor():
    result = runner.invoke(app, ["convert", "1.2", "mg/dL", "--to", "umol/L", "--analyte", "serum creatinine"])
    assert result.exit_code == 0, result.output
    assert "106.08" in result.output and "88.40" in result.output and "113.12 g/mol" in result.output


def test_convert_counts_without_analyte():
    result = runner.invoke(app, ["convert", "150", "THOU/uL", "--to", "10^9/L"])
    assert result.exit_code == 0, result.output
    assert "= 150 10^9/L" in result.output and "x 1" in result.output


def test_convert_hba1c_shows_the_formula():
    result = runner.invoke(app, ["convert", "6.5", "%", "--to", "mmol/mol", "-a", "A1C"])
    assert result.exit_code == 0, result.output
    assert "47.54" in result.output and "10.929" in result.output


def test_convert_error_exits_2_with_message():
    """The console entry point turns our errors into one line and exit code 2."""
    code = "import sys; from ui.cli import main; sys.argv=['trialguard','convert','1','mg/dL','--to','U/L','-a','CREAT']; main()"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "error:" in done.stderr and "CREAT" in done.stderr and "U/L" in done.stderr
