"""What every page shares: settings, the process-wide index/assessor/audit store, the reviewer's identity."""

from __future__ import annotations

import datetime as dt
import hmac
import re
import traceback
from pathlib import Path

import streamlit as st
from pydantic import ValidationError

from labs.errors import TrialGuardError
from ui.audit import AuditStore, open_store
from ui.rule_text import describe_rule as _describe_rule
from ui.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]


def settings() -> Settings:
    """Read each run: cheap, and tests point TRIALGUARD_DATA_DIR elsewhere between apps."""
    return Settings()


def index():
    from ui.services import build_index

    return build_index(settings())


def assessor(version: str | None = None):
    """The Assessor with reviewers' corrections; `version` pins the protocol version (else: in force on the date)."""
    from ui.services import build_assessor

    return build_assessor(settings(), version=version)


def store() -> AuditStore:
    return open_store(settings())


def corrected_protocol(protocol_id: str, version: str):
    """The protocol version as assessments see it: parsed rules replaced by reviewers' corrections."""
    from ui.corrections import apply_corrections

    return apply_corrections(index().protocol(protocol_id, version), store())


def judged_criteria(assessment) -> list:
    """The criteria an assessment's findings were judged on, with the rules as applied (for the audit record)."""
    try:
        protocol = corrected_protocol(assessment.protocol_id, assessment.version)
    except Exception:  # noqa: BLE001 - protocol no longer in the index: the submission still goes through, without rules
        return []
    wanted = {f.criterion_id for f in assessment.findings}
    return [c for c in protocol.criteria if c.id in wanted]


# Characters Markdown (or Streamlit's extensions: colours, emoji, LaTeX) acts on wherever they stand; `.`, `)` and
# `-` only act at the start of a line (lists, rules), so they are escaped there alone and "section 5.1" reads as is.
_MARKDOWN_ACTIVE = re.compile(r"([\\`*_{}\[\]()<>#+!|~$:=^])")
_LINE_START_MARKER = re.compile(r"(?m)^(\s*)(\d+[.)]|-)")


def md(text: object) -> str:
    """User or document text made inert inside Streamlit Markdown: `![x](http://...)` shows as written and fetches
    nothing. Use it for anything typed by a user, sent by a proxy or read from a document."""
    escaped = _MARKDOWN_ACTIVE.sub(r"\\\1", str(text))
    escaped = _LINE_START_MARKER.sub(lambda m: m[1] + m[2][:-1] + "\\" + m[2][-1], escaped)
    return escaped.replace("\n", "  \n")


PROXY_SECRET_HEADER = "X-TrialGuard-Proxy-Secret"


def trusted_user() -> str | None:
    """The user an SSO reverse proxy authenticated, when the operator names the header it sets.

    Believed only when the request also carries the proxy's shared secret (TRIALGUARD_TRUSTED_USER_SECRET in the
    X-TrialGuard-Proxy-Secret header): the app listens on 127.0.0.1, where any local process could send the user
    header. Unset (the default) = the reviewer name is a typed label.
    """
    config = settings()
    if not config.trusted_user_header or not config.trusted_user_secret:
        return None
    try:
        headers = st.context.headers
        value, secret = headers.get(config.trusted_user_header), headers.get(PROXY_SECRET_HEADER) or ""
    except Exception:  # noqa: BLE001 - no request context (e.g. AppTest)
        return None
    if not hmac.compare_digest(secret.encode(), config.trusted_user_secret.encode()):
        return None  # not from the proxy: the user header may be anyone's
    return value.strip() if value and value.strip() else None


REVIEWER_PARAM = "reviewer"


def reviewer_sidebar() -> None:
    """The reviewer box in the sidebar, shown on every page (the entry script renders it once per run)."""
    user = trusted_user()
    if user:
        st.sidebar.markdown(f"Signed in as **{md(user)}** (from the SSO proxy)")
        st.session_state["reviewer_verified"] = user
        return
    st.session_state.pop("reviewer_verified", None)
    # A refresh starts a new session, so the typed name also lives in the page address (?reviewer=...): it is the
    # same typed label, as (un)trustworthy as the box, and needs no cookie or server-side file. Read once per
    # session, before the box is drawn; written back on every run (a page switch drops query parameters).
    if "reviewer_name" not in st.session_state:
        st.session_state["reviewer_name"] = (st.query_params.get(REVIEWER_PARAM) or "").strip()[:100]
    # Rendered by the entry script on every run, so the name survives page switches.
    st.sidebar.text_input(
        "Reviewer name",
        key="reviewer_name",
        help="A label you type: it is recorded with each action but proves nothing about identity "
        "unless the app runs behind an SSO proxy (see README, Access). It is kept in the page address, "
        "so it survives a refresh and a bookmark.",
    )
    name = (st.session_state.get("reviewer_name") or "").strip()
    if name and st.query_params.get(REVIEWER_PARAM) != name:
        st.query_params[REVIEWER_PARAM] = name
    elif not name and REVIEWER_PARAM in st.query_params:
        del st.query_params[REVIEWER_PARAM]


def reviewer() -> tuple[str, bool]:
    """(name, verified) of whoever acts now; name '' when none was given."""
    verified = st.session_state.get("reviewer_verified")
    if verified:
        return verified, True
    return (st.session_state.get("reviewer_name") or "").strip(), False


# One rendering of a rule for app and CLI alike (ui/rule_text.py); kept importable from here.
describe_rule = _describe_rule


def show_error(exc: Exception) -> None:
    """One plain sentence on the page. Our own errors (bad input, bad settings) already say what is wrong and what
    to do; anything else is a fault of ours: its traceback goes to a log file that the page names, never the page."""
    if isinstance(exc, ValidationError):
        st.error("; ".join(f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg'].removeprefix('Value error, ')}"
                           for e in exc.errors()) + ".")
        return
    if isinstance(exc, (TrialGuardError, ValueError)):
        st.error(str(exc).strip().splitlines()[0] if str(exc).strip() else "That input could not be used.")
        return
    log = settings().data_dir / "logs" / "app-errors.log"
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as handle:
            handle.write(f"--- {dt.datetime.now(dt.UTC).isoformat()}\n")
            handle.write("".join(traceback.format_exception(exc)))
        where = f"the details are in {log.resolve()}"
    except OSError:
        where = "the details could not be written to a log file"
    st.error(f"Something went wrong inside TrialGuard, not in what you entered; {where}. Try again, and if it "
             "happens again send that file to whoever runs TrialGuard.")
