"""Protocols, Corrections, Batch and Quality pages through AppTest, on the real index, engine and store."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import REPO, make_assessment

from reasoning.models import OverallVerdict, Verdict
from ui.audit import Action, ItemKind

pytestmark = pytest.mark.slow


def _ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _by_label(widgets, label: str):
    return next(w for w in widgets if w.label == label)


def test_protocols_page_ingests_a_version_lists_rules_and_diffs(app):
    app.switch_page("views/protocols.py").run()
    _ok(app)
    pdf = (REPO / "protocols" / "TG-ONC-001_v2.0.pdf").read_bytes()
    app.file_uploader(key="proto_upload").set_value(("TG-ONC-001_v2.0.pdf", pdf, "application/pdf"))
    app.text_input(key="proto_id").input("TG-ONC-001")
    app.text_input(key="proto_version").input("2.0")
    app.date_input(key="proto_effective").set_value(dt.date(2024, 6, 1))
    next(b for b in app.button if b.label == "Ingest").click().run()
    _ok(app)
    # Another test of the session may have ingested this same file already: then the page says so (issue 20).
    assert any("Ingested TG-ONC-001 version 2.0" in s.value for s in app.success) or any(
        "TG-ONC-001 version 2.0 was already ingested" in i.value for i in app.info)

    versions = app.dataframe[0].value
    assert set(versions["version"]) >= {"1.0", "2.0"}
    app.selectbox(key="proto_browse_version").select("1.0").run()
    criteria = app.dataframe[1].value
    inclusion5 = criteria[(criteria["kind"] == "inclusion") & (criteria["label"] == "5")].iloc[0]
    assert "ALT <= 2.5 × ULN" in inclusion5["parsed rules"]

    app.selectbox(key="diff_old").select("1.0")
    app.selectbox(key="diff_new").select("2.0").run()
    _ok(app)
    summary = "\n".join(m.value for m in app.markdown)
    assert "1 added" in summary
    diff = app.dataframe[-1].value
    changed = diff[(diff["kind"] == "inclusion") & (diff["label v2.0"] == "5")].iloc[0]
    assert changed["change"] == "changed" and changed["thresholds changed"] == "yes"
    assert "NEUT >= 1.5" in changed["only in v1.0"] and "NEUT >= 1 " in changed["only in v2.0"]
    added = diff[diff["change"] == "added"].iloc[0]
    assert added["kind"] == "discontinuation" and "bilirubin" in added["text v2.0"]


def test_correction_is_saved_audited_and_used_by_the_next_assessment(app_db, app, ask):
    question = "Patient 1003 ALT 250 U/L (ULN 40) on 2024-03-02"  # 6.25 x ULN
    before = {f.criterion_id: f for f in ask(question).findings}
    stop = next(f for f in before.values() if f.criterion_kind.value == "discontinuation" and f.label == "1")
    assert stop.verdict is Verdict.VIOLATES and stop.rule_source == "parsed"

    app.switch_page("views/corrections.py").run()
    _ok(app)
    app.selectbox(key="corr_protocol").select("TG-ONC-001").run()
    app.selectbox(key="corr_version").select("1.0").run()
    crit = app.selectbox(key="corr_criterion")
    crit.select(next(o for o in crit.options if o.startswith("discontinuation 1 ·"))).run()
    rule = app.selectbox(key="corr_rule")
    rule.select(next(o for o in rule.options if o.startswith("ALT >"))).run()
    _by_label(app.number_input, "Value").set_value(7.0)
    _by_label(app.text_input, "Reason (required)").input("sponsor clarification letter 3: stop at 7 x ULN")
    next(b for b in app.button if b.label == "Save correction").click().run()
    assert any("Reviewer name" in e.value for e in app.error)  # unsigned: refused
    app.text_input(key="reviewer_name").input("Dr Ada")
    _by_label(app.number_input, "Value").set_value(7.0)
    _by_label(app.text_input, "Reason (required)").input("sponsor clarification letter 3: stop at 7 x ULN")
    next(b for b in app.button if b.label == "Save correction").click().run()
    _ok(app)
    assert any("Saved correction version 1" in s.value for s in app.success)
    history = app.dataframe[-1].value
    assert list(history["who"]) == ["Dr Ada"] and "ALT > 7 × ULN" in history["after"].iloc[0]

    [record] = app_db.records(item_kinds=[ItemKind.RULE])
    assert record.action is Action.RULE_CORRECTED and record.item_id == stop.criterion_id
    after = {f.criterion_id: f for f in ask(question).findings}[stop.criterion_id]
    assert after.verdict is Verdict.MEETS and after.rule_source == "reviewer"
    assert any("7 × ULN" in line for line in after.arithmetic)


def test_batch_screens_a_file_filters_downloads_and_sends_to_review(app_db, app, tmp_path):
    rows = [
        "patient_id,test,value,unit,uln,lln,date,age,sex",
        "1001,ALT,30,U/L,40,,2024-03-02,55,F",
        "1003,ALT,250,U/L,40,,2024-03-02,61,M",
        "1004,SGPT,20,U/L,40,,2024-03-03,47,F",
    ]
    app.switch_page("views/batch.py").run()
    _ok(app)
    app.file_uploader(key="batch_file").set_value(("labs.csv", "\n".join(rows).encode(), "text/csv"))
    next(b for b in app.button if b.label == "Screen").click().run()
    _ok(app)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Rows read"] == "3" and metrics["Patients with a deviation"] == "1"
    table = app.dataframe[0].value
    assert set(table["patient_id"].astype(str)) == {"1003"} and set(table["verdict"]) == {"VIOLATES"}
    assert {b.label for b in app.get("download_button")} == {"Findings CSV", "Findings JSON", "SDTM DV (CSV)"}

    app.text_input(key="batch_filter_patient").input("1001").run()
    assert "0 of" in "\n".join(c.value for c in app.caption)

    app.text_input(key="batch_filter_patient").input("").run()
    chosen = app.multiselect(key="batch_chosen")
    app.text_input(key="reviewer_name").input("Dr Bo")
    chosen.select(chosen.options[0])
    app.button(key="batch_send").click().run()
    _ok(app)
    [item] = app_db.queue()
    assert item.item_kind is ItemKind.FINDING and item.submitted.before["verdict"] == "VIOLATES"
    assert item.submitted.assessment.overall is OverallVerdict.DEVIATION
    assert item.submitted.before["criteria"][item.submitted.before["criterion_id"]]["rules"]


def test_quality_page_shows_agreement_and_override_rate(app_db, app):
    for verdict in ("confirm", "confirm", "override", "flag"):
        item = app_db.submit(make_assessment(), actor="cra").item_id
        if verdict == "confirm":
            app_db.review(item, Action.CONFIRMED, actor="Dr Ada")
        elif verdict == "override":
            app_db.review(item, Action.OVERRIDDEN, actor="Dr Ada", reason="r", new_verdict="NO_DEVIATION")
        else:
            from ui.audit import FlagKind

            app_db.review(item, Action.FLAGGED, actor="Dr Ada", flag_kind=FlagKind.WRONG_PARSE, comment="c")
    app.switch_page("views/quality.py").run()
    _ok(app)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Decisions"] == "4"
    assert metrics["Agreement (confirmed / judged)"] == "67%"
    assert metrics["Override rate"] == "25%"
    assert app.get("arrow_line_chart") or app.get("vega_lite_chart")
    assert any("audit chain intact: 8 of 8 record(s) sealed" in s.value for s in app.success)


def test_quality_page_says_when_the_audit_trail_is_not_intact(app_db, app):
    import sqlite3

    app_db.submit(make_assessment(), actor="cra")
    app_db.submit(make_assessment(), actor="cra")
    with sqlite3.connect(app_db.location) as conn:
        conn.execute("DROP TRIGGER audit_records_no_delete")
        conn.execute("DELETE FROM audit_records WHERE id = 1")
    app.switch_page("views/quality.py").run()
    assert any("NOT intact at record 2" in e.value for e in app.error)


def test_review_rates_and_eval_table():
    from ui.audit import AuditRecord
    from ui.audit import ItemKind as K
    from ui.views.quality import eval_metrics_table, review_rates

    def rec(i, action, day):
        return AuditRecord(id=i, item_id=f"it{i}", item_kind=K.ASSESSMENT, action=action, actor="a",
                           created_at=dt.datetime(2026, 1, day, 12, tzinfo=dt.UTC))

    rates = review_rates([rec(1, Action.CONFIRMED, 1), rec(2, Action.OVERRIDDEN, 1), rec(3, Action.CONFIRMED, 2),
                          rec(4, Action.SUBMITTED, 2)])
    assert list(rates["decisions"]) == [2, 1]
    assert list(rates["agreement"]) == [0.5, 1.0] and list(rates["override rate"]) == [0.5, 0.0]
    table = eval_metrics_table({"metrics": {"verdict": {"accuracy": 0.97}},
                                "floors": [{"key": "verdict.accuracy", "bound": ">= 0.95", "value": 0.97, "ok": True}]})
    assert table.to_dict("records") == [{"suite": "verdict", "metric": "accuracy", "value": 0.97,
                                         "floor": ">= 0.95", "meets floor": "yes"}]


def test_protocols_page_checklist_links_to_the_corrections_page(app_env, tmp_path, monkeypatch):
    """A fresh protocol with an unread threshold: the checklist names it and links to its criterion; the same
    upload again says already ingested. Its own data dir: the session's holds only the demo protocol."""
    from streamlit.testing.v1 import AppTest

    (tmp_path / "no_demo").mkdir()
    monkeypatch.setenv("TRIALGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRIALGUARD_PROTOCOLS_DIR", str(tmp_path / "no_demo"))
    monkeypatch.setenv("TRIALGUARD_DB_URL", f"sqlite:///{tmp_path / 'audit.db'}")
    app = AppTest.from_file(str(REPO / "ui" / "app.py"), default_timeout=120)
    app.run()
    text = ("PROTOCOL TG-LINK-044 Version 2.0\nEffective date: 2025-01-15\n\n5.1 Inclusion Criteria\n"
            "1. Adults aged 18 years or older.\n2. Platelet count >= 100,000/uL.\n"
            "3. Serum ferritin < 40 ng/mL.\n\n5.2 Exclusion Criteria\n1. Bilirubin > 2 mg/dL.\n")
    app.switch_page("views/protocols.py").run()
    _ok(app)
    for attempt in range(2):
        app.file_uploader(key="proto_upload").set_value(("tg_link_044.txt", text.encode(), "text/plain"))
        next(b for b in app.button if b.label == "Ingest").click().run()
        _ok(app)
        shown = [m.value for m in app.markdown]
        assert any("ng/mL" in m and "threshold not read" in m for m in shown), shown
        links = [link.proto for link in app.get("page_link")]
        assert any(link.label == "Correct 3 on the Corrections page" and link.page.endswith("corrections")
                   and "criterion=" in link.query_string and "%3Ainclusion%3A3" in link.query_string
                   for link in links), links
        if attempt == 0:
            assert any("Ingested" in s.value and "version 2.0" in s.value for s in app.success), app.success
        else:
            assert any("already ingested" in i.value for i in app.info), [i.value for i in app.info]


def test_corrections_page_opens_on_the_linked_criterion(app):
    """The checklist's link (?criterion=<id>) opens Corrections on that protocol, version and criterion."""
    from ui.services import build_index
    from ui.settings import Settings

    index = build_index(Settings())
    info = index.protocols()[0]
    protocol = index.protocol(info.protocol_id, info.version)
    target = [c for c in protocol.criteria if c.kind.value != "context"][-1]
    app.query_params["criterion"] = target.id
    app.switch_page("views/corrections.py").run()
    _ok(app)
    assert app.selectbox(key="corr_protocol").value == info.protocol_id
    assert app.selectbox(key="corr_version").value == info.version
    assert app.selectbox(key="corr_criterion").value.startswith(f"{target.kind.value} {target.label} ·")
