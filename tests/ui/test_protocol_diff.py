"""Differences between two versions of the demo protocol, parsed from their real PDFs."""

from __future__ import annotations

import pytest
from conftest import REPO

from ingest import parse_protocol
from ui.protocol_diff import ChangeKind, diff_protocols


@pytest.fixture(scope="module")
def versions():
    folder = REPO / "protocols"
    return (parse_protocol(folder / "TG-ONC-001_v1.0.pdf", protocol_id="TG-ONC-001", version="1.0"),
            parse_protocol(folder / "TG-ONC-001_v2.0.pdf", protocol_id="TG-ONC-001", version="2.0"))


def test_amendment_changes_are_found(versions):
    old, new = versions
    changes = diff_protocols(old, new)
    by = {(c.change, c.kind.value, c.new_label or c.old_label): c for c in changes}
    inclusion5 = by[(ChangeKind.CHANGED, "inclusion", "5")]
    assert inclusion5.thresholds_changed
    assert [t.split(" (")[0] for t in inclusion5.thresholds_removed] == ["CRCL >= 50 mL/min", "NEUT >= 1.5 10^9/L",
                                                                        "PLAT >= 100 10^9/L"]
    assert [t.split(" (")[0] for t in inclusion5.thresholds_added] == ["CRCL >= 40 mL/min", "NEUT >= 1 10^9/L",
                                                                      "PLAT >= 75 10^9/L"]
    added = [c for c in changes if c.change is ChangeKind.ADDED]
    assert [(c.kind.value, c.new_label) for c in added] == [("discontinuation", "2")]
    assert "bilirubin > 2 × ULN" in added[0].new_text
    # the old stopping rule 2 (bilirubin, Gilbert's) kept its words under a new number
    renumbered = [c for c in changes if c.change is ChangeKind.RENUMBERED]
    assert any(c.old_label == "2" and c.new_label == "3" and "Gilbert" in c.new_text for c in renumbered)
    assert not [c for c in changes if c.change is ChangeKind.REMOVED]


def test_same_version_has_no_changes(versions):
    old, _ = versions
    assert diff_protocols(old, old) == []
