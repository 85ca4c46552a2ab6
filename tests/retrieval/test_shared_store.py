"""One embedded store shared by several processes on one data dir: the app beside `trialguard ingest/screen/ask`.

The protocols and lab rows here were written for this test; every process is a real one, on the real store.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labs.observation import LabObservation
from retrieval_handmade import hand_protocol
from ui.commands.screen import EXIT_DEVIATIONS

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]

FRESH = """# Study {pid} clinical study protocol, version {version}

## 5.1 Inclusion criteria

1. Adults aged 18 years or older at consent.
2. Platelet count of at least {plat} x 10^9/L.

## 5.2 Exclusion criteria

1. ALT or AST above {alt} x ULN.
2. Serum creatinine above 1.5 mg/dL.
"""

LABS = """USUBJID,LBTESTCD,LBORRES,LBORRESU,LBORNRHI,LBDTC
S-101,ALT,150,U/L,40,2025-02-03
S-102,ALT,35,U/L,40,2025-02-03
S-103,PLT,80,10^9/L,,2025-02-04
"""


def test_an_index_sees_a_version_another_client_ingested_without_being_rebuilt(tmp_path, embedder):
    """The app's long-lived index (listing cached) and a CLI's index on the same folder."""
    from retrieval.index import ProtocolIndex
    from retrieval.store import make_client

    app_index = ProtocolIndex(make_client(path=tmp_path / "q"), embedder, collection="c")
    cli_index = ProtocolIndex(make_client(path=tmp_path / "q"), embedder, collection="c")
    app_index.ingest(hand_protocol(version="1.0"))
    assert [v.version for v in app_index.protocols()] == ["1.0"]  # cached in the app's index now
    cli_index.ingest(hand_protocol(version="2.0", effective_date=dt.date(2024, 6, 1)))
    assert [v.version for v in app_index.protocols()] == ["1.0", "2.0"]
    hits = app_index.search([LabObservation(analyte="PLAT", value=90, unit="10^9/L")], "TG-TEST",
                            on_date=dt.date(2025, 1, 1))
    assert hits and {c.criterion.version for c in hits} == {"2.0"}
    # the same file again through the other index: nothing written twice
    assert cli_index.ingest(hand_protocol(version="1.0")).skipped


def _values(tree, key: str):
    if isinstance(tree, dict):
        for name, value in tree.items():
            if name == key and isinstance(value, str):
                yield value
            else:
                yield from _values(value, key)
    elif isinstance(tree, list):
        for item in tree:
            yield from _values(item, key)


def _cli(data: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "TRIALGUARD_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "DO_NOT_TRACK": "1", "TRIALGUARD_STORE_WAIT_S": "120"}
    for key in ("TRIALGUARD_QDRANT_URL", "TRIALGUARD_DB_URL", "TRIALGUARD_LLM_URL"):
        env.pop(key, None)
    return subprocess.Popen([sys.executable, "-m", "ui.cli", *args], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _done(process: subprocess.Popen, ok: tuple[int, ...] = (0,)) -> str:
    out, _ = process.communicate(timeout=300)
    assert process.returncode in ok, f"{process.args}: exit {process.returncode}\n{out}"
    return out


def test_ingests_screen_and_ask_run_at_once_on_one_data_dir(tmp_path):
    data = tmp_path / "data"
    files = {}
    for pid, version, plat, alt in (("TG-FRESH-7", "1.0", 100, 3), ("TG-FRESH-7", "2.0", 75, 5), ("TG-OTHER-4", "1.0", 90, 2)):
        path = tmp_path / f"{pid}_v{version}.md"
        path.write_text(FRESH.format(pid=pid, version=version, plat=plat, alt=alt))
        files[pid, version] = path
    labs = tmp_path / "labs.csv"
    labs.write_text(LABS)
    _done(_cli(data, "ingest", str(files["TG-FRESH-7", "1.0"]), "--protocol-id", "TG-FRESH-7", "--version", "1.0",
               "--effective-date", "2024-01-01"))

    # all at once: two ingests (a new version and another protocol), a batch screen and a question
    running = [
        _cli(data, "ingest", str(files["TG-FRESH-7", "2.0"]), "--protocol-id", "TG-FRESH-7", "--version", "2.0",
             "--effective-date", "2025-01-01"),
        _cli(data, "ingest", str(files["TG-OTHER-4", "1.0"]), "--protocol-id", "TG-OTHER-4", "--version", "1.0"),
        _cli(data, "screen", str(labs), "--protocol", "TG-FRESH-7", "--out", str(tmp_path / "findings.json")),
        _cli(data, "ask", "--protocol", "TG-FRESH-7", "--date", "2024-05-01", "--json",
             "pt 55: ALT 200 U/L (ULN 40) on 2024-05-01"),
    ]
    outputs = [_done(p, ok=(0, EXIT_DEVIATIONS) if "screen" in p.args else (0,)) for p in running]
    answer = json.loads(outputs[3][outputs[3].index("{"):])
    assert answer["version"] == "1.0" and answer["overall"] == "DEVIATION"  # 5 x ULN > 3 x ULN of v1.0
    # the screen ran before or after the v2.0 ingest, never across it: every finding of one version
    versions = set(_values(json.loads((tmp_path / "findings.json").read_text()), "version"))
    assert len(versions) == 1 and versions <= {"1.0", "2.0"}, versions

    listing = _done(_cli(data, "protocols"))
    for pid, version in files:
        assert pid in listing and version in listing
    # the store is whole: v2.0 answers by its own threshold (5 x ULN), v1.0 still by 3 x ULN
    later = _done(_cli(data, "ask", "--protocol", "TG-FRESH-7", "--date", "2025-03-01", "--json",
                       "pt 55: ALT 160 U/L (ULN 40) on 2025-03-01"))
    later = json.loads(later[later.index("{"):])
    assert later["version"] == "2.0" and later["overall"] != "DEVIATION"
