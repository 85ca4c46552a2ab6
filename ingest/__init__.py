"""Documents -> Protocol (pages, sections, criteria, lab rules); patient files -> LabObservations."""

from __future__ import annotations

from typing import Any

__all__ = ["parse_protocol"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `import ingest.models` stays light and free of import cycles.
    if name == "parse_protocol":
        from ingest.protocol import parse_protocol

        return parse_protocol
    raise AttributeError(f"module 'ingest' has no attribute {name!r}")
