"""The app's main flows through streamlit.testing.v1.AppTest, on the real index, engine and audit store."""

from __future__ import annotations

import pytest
from conftest import REPO

from reasoning.models import OverallVerdict
from ui.audit import Action, ItemStatus

QUESTION = "Patient 1003 ALT 250 U/L (ULN 40) on 2024-03-02"  # 6.25 x ULN: over every branch of the limits

pytestmark = pytest.mark.slow


def _ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def _ask(at, question: str = QUESTION):
    at.selectbox(key="ask_protocol").select("TG-ONC-001").run()
    at.text_area(key="ask_question").input(question)
    at.button[0].click().run()  # the question form's submit button comes first
    _ok(at)
    assert not at.error, [e.value for e in at.error]
    return at


def test_app_ingests_demo_protocol_and_opens_on_ask(app):
    assert [t.value for t in app.title] == ["Ask"]
    assert app.selectbox(key="ask_protocol").options == ["TG-ONC-001"]
    assert "1.0 (effective 2024-01-15)" in app.selectbox(key="ask_version").options
    # the second start of the same data dir adds nothing (ingest is idempotent)
    from ui.demo_protocols import ensure_demo_protocols
    from ui.views import common

    assert ensure_demo_protocols(common.index(), common.settings().protocols_dir) == []


def test_ask_question_gives_cited_deviation_and_sends_it_to_review(app_db, app):
    at = _ask(app)
    text = _markdown(at)
    assert "Overall verdict: DEVIATION" in text  # words, not colour alone
    assert "<mark" in text and "section 5.1" in text and "page 3" in text
    table = at.dataframe[0].value
    assert "⛔ does not meet" in set(table["verdict"])  # an inclusion criterion in its own words

    page_toggle = next(t for t in at.toggle if t.label.startswith("Show page"))
    page_toggle.set_value(True).run()
    _ok(at)
    assert any(b.label.startswith("Open page") for b in at.get("download_button"))

    at.button(key="ask_send").click().run()
    assert any("Reviewer name" in e.value for e in at.error)  # nobody named: nothing written
    assert app_db.count() == 0

    at.text_input(key="reviewer_name").input("Dr Ada")
    at.text_input(key="ask_review_comment").input("please check")
    at.button(key="ask_send").click().run()
    _ok(at)
    [item] = app_db.queue()
    assert item.submitted.actor == "Dr Ada" and item.submitted.comment == "please check"
    assert item.submitted.assessment.overall is OverallVerdict.DEVIATION
    assert item.submitted.protocol_sha256 and item.submitted.engine_version
    criteria = item.submitted.before["criteria"]  # the rules as applied, kept with the submission
    assert set(criteria) == {f.criterion_id for f in item.submitted.assessment.findings}
    assert any(c["rules"] for c in criteria.values())
    assert any(item.item_id in s.value for s in at.success)


def test_structured_entry_uses_demographics_and_conditions(app):
    def assess(conditions: str) -> str:
        app.selectbox(key="ask_protocol").select("TG-ONC-001").run()
        app.selectbox(key="f_analyte").select("ALT")
        app.number_input(key="f_value").set_value(110.0)  # 2.75 x ULN: over 2.5 x, under 3 x and 5 x
        app.text_input(key="f_unit").input("U/L")
        app.number_input(key="f_uln").set_value(40.0)
        app.date_input(key="f_date").set_value(__import__("datetime").date(2024, 3, 2))
        app.number_input(key="f_age").set_value(61.0)
        app.selectbox(key="f_sex").select("F")
        app.text_area(key="f_conditions").input(conditions)
        app.button[1].click().run()  # the structured form's submit button
        _ok(app)
        assert not app.error, [e.value for e in app.error]
        return _markdown(app)

    assert "Overall verdict: DEVIATION" in assess("liver metastases: no\nGilbert's syndrome: no")
    # with liver metastases the protocol allows up to 5 x ULN: 2.75 x ULN no longer deviates
    assert "Overall verdict: NO DEVIATION" in assess("liver metastases: yes\nGilbert's syndrome: no")


def test_review_confirm_override_flag_with_history(app_db, app, ask):
    first = app_db.submit(ask(QUESTION), actor="cra").item_id  # as the API would; the Ask page adds criteria
    second = app_db.submit(ask(QUESTION), actor="cra").item_id
    app.switch_page("views/review.py").run()
    _ok(app)
    assert [t.value for t in app.title] == ["Review"]
    items = app.selectbox(key="review_item")
    assert len(items.options) == 2 and "DEVIATION" in items.options[0]

    items.select(next(o for o in items.options if o.startswith(first))).run()
    app.radio(key="review_decision").set_value("Override").run()  # the chosen action's fields appear
    app.selectbox(key="review_new_verdict").select("NO_DEVIATION")
    app.button[0].click().run()
    assert any("Reviewer name" in e.value for e in app.error)

    app.text_input(key="reviewer_name").input("Dr Ada")
    app.radio(key="review_decision").set_value("Override").run()  # the chosen action's fields appear
    app.button[0].click().run()
    assert any("reason" in e.value for e in app.error)  # an override needs a reason
    app.radio(key="review_decision").set_value("Override").run()  # the chosen action's fields appear
    app.selectbox(key="review_new_verdict").select("NO_DEVIATION")
    app.text_input(key="review_reason").input("repeat ALT normal the next day")
    app.selectbox(key=f"review_fv_{first}_0").select("MEETS")  # the reviewer's verdict on the first criterion
    app.button[0].click().run()
    _ok(app)
    state = app_db.item(first)
    assert state.status is ItemStatus.OVERRIDDEN
    assert state.latest.after["overall"] == "NO_DEVIATION" and state.latest.actor == "Dr Ada"
    assert state.latest.before == {"overall": "DEVIATION"}
    first_criterion = state.submitted.assessment.findings[0].criterion_id
    assert state.latest.after["findings"][first_criterion] == "MEETS"

    app.selectbox(key="review_item").select(next(o for o in app.selectbox(key="review_item").options if o.startswith(second))).run()
    app.radio(key="review_decision").set_value("Flag").run()
    app.selectbox(key="review_flag").select("wrong_citation")
    app.text_area(key="review_comment").input("cites Table 3, should cite 5.2")
    app.button[0].click().run()
    _ok(app)
    assert app_db.item(second).status is ItemStatus.FLAGGED
    assert app_db.queue() == []

    app.radio(key="review_filter").set_value("All").run()
    app.selectbox(key="review_item").select(next(o for o in app.selectbox(key="review_item").options if o.startswith(first))).run()
    history = app.dataframe[-1].value
    assert list(history["action"]) == ["submitted", "overridden"]
    assert list(history["after"]) == ["", "NO_DEVIATION"]
    assert [r.action for r in app_db.records(item_id=first)] == [Action.SUBMITTED, Action.OVERRIDDEN]


def test_version_picker_pins_the_version_judged(app):
    """A lab date under v1.0 judged against v2.0 on request: the amendment's lower platelet limit applies."""
    from ui.demo_protocols import ingest_document
    from ui.views import common

    ingest_document(common.index(), REPO / "protocols" / "TG-ONC-001_v2.0.pdf", protocol_id="TG-ONC-001",
                    version="2.0", effective_date=__import__("datetime").date(2024, 6, 1))
    question = "Patient 1005 platelets 80 x10^9/L on 2024-03-02"  # v1.0 needs >= 100, v2.0 >= 75
    app.run()
    assert "Overall verdict: DEVIATION" in _markdown(_ask(app, question))
    app.selectbox(key="ask_version").select("2.0 (effective 2024-06-01)").run()
    text = _markdown(_ask(app, question))
    assert "version **2.0**" in text and "Overall verdict: DEVIATION" not in text
    assert any("version in force on the lab date is 1.0" in w.value for w in app.warning)


def test_an_error_or_another_version_clears_the_previous_answer(app):
    _ask(app)
    assert "Overall verdict: DEVIATION" in _markdown(app)
    app.text_area(key="ask_question").input("ALT 250 U/L (ULN 40) on 2001-01-01")  # before the first version
    app.button[0].click().run()
    _ok(app)
    assert app.error and "Overall verdict" not in _markdown(app)
    assert not [b for b in app.button if b.label == "Send to review"]
    assert all("Error:" not in e.value and "Traceback" not in e.value for e in app.error)

    _ask(app)
    assert "Overall verdict: DEVIATION" in _markdown(app)
    other = next(o for o in app.selectbox(key="ask_version").options if o.startswith("2.0"))
    app.selectbox(key="ask_version").select(other).run()
    assert "Overall verdict" not in _markdown(app), "an answer about version 1.0 stayed under version 2.0"


def test_an_internal_fault_is_one_sentence_and_its_traceback_goes_to_a_log(app_env, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("TRIALGUARD_DATA_DIR", str(tmp_path))
    script = tmp_path / "fault_page.py"
    script.write_text("from ui.views import common\ncommon.show_error(KeyError('internal_key_xyz'))\n")
    at = AppTest.from_file(str(script), default_timeout=60).run()
    (error,) = at.error
    log = tmp_path / "logs" / "app-errors.log"
    assert str(log.resolve()) in error.value and "internal_key_xyz" not in error.value
    assert "KeyError" in log.read_text() and "internal_key_xyz" in log.read_text()


def test_review_audit_view_filters_all_items_and_the_reviewer_name_survives_a_refresh(app_db, app, ask):
    first = app_db.submit(ask(QUESTION), actor="cra one").item_id
    second = app_db.submit(ask(QUESTION), actor="cra two").item_id
    app_db.review(first, Action.CONFIRMED, actor="Dr Ada", actor_verified=False, comment="checked against source")
    app_db.review(second, Action.FLAGGED, actor="Dr Bo", actor_verified=False, comment="page looks wrong",
                  flag_kind="wrong_citation")
    app.text_input(key="reviewer_name").input("Dr Ada").run()
    app.switch_page("views/review.py").run()
    _ok(app)
    audit = next(d for d in app.dataframe if "who" in d.value.columns and "item" in d.value.columns).value
    assert len(audit) == 4 and set(audit["item"]) == {first, second}  # every item's records, not one item's
    app.multiselect(key="audit_actions").select("flagged").run()
    audit = next(d for d in app.dataframe if "item" in d.value.columns).value
    assert list(audit["item"]) == [second] and list(audit["who"]) == ["Dr Bo"]
    app.multiselect(key="audit_actions").unselect("flagged")
    app.multiselect(key="audit_actors").select("Dr Ada").run()
    audit = next(d for d in app.dataframe if "item" in d.value.columns).value
    assert list(audit["action"]) == ["confirmed"] and list(audit["item"]) == [first]
    # The name is in the page address: a new session (a refresh) opened on that address starts with it.
    assert app.query_params.get("reviewer") in ("Dr Ada", ["Dr Ada"])
    from streamlit.testing.v1 import AppTest

    fresh = AppTest.from_file(str(REPO / "ui" / "app.py"), default_timeout=120)
    fresh.query_params["reviewer"] = "Dr Ada"
    fresh.run()
    assert fresh.text_input(key="reviewer_name").value == "Dr Ada"
