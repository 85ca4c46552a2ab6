"""The README is the user's manual: its quick start and configuration table must match the code."""

from __future__ import annotations

from ui.settings import Settings


def test_quick_start_is_exactly_the_two_commands(repo_root):
    readme = (repo_root / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("```", 2)[1]
    commands = [line.split("#")[0].strip() for line in quick.splitlines()[1:] if line.strip()]
    assert commands == ["make run", "make test"]


def test_every_setting_is_documented(repo_root):
    readme = (repo_root / "README.md").read_text()
    missing = [f"TRIALGUARD_{name.upper()}" for name in Settings.model_fields
               if f"`TRIALGUARD_{name.upper()}`" not in readme]
    assert not missing, f"README configuration table lacks {missing}"


def test_ci_calls_the_readme_test_command(repo_root):
    assert "make test" in (repo_root / ".ci" / "run").read_text()
