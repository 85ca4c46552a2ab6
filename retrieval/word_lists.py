"""The small YAML word lists retrieval reads (related analytes, condition phrases, organ-function terms)."""

from __future__ import annotations

from pathlib import Path

import yaml

from labs.errors import ConfigError


def load_word_lists(path: Path, shape: str) -> dict[str, list[str]]:
    """A mapping of key -> list of words; ConfigError naming the file and the `shape` expected otherwise."""
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise ConfigError(f"{path}: expected a mapping of {shape}")
    return {str(k): [str(x) for x in v] for k, v in data.items()}
