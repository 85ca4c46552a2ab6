"""The TrialGuard Streamlit app: `trialguard app` (or `make run`) serves it on 127.0.0.1:8501.

Streamlit runs this file as a script with its own folder on sys.path; the repo root goes first so that
`ui`, `reasoning`, ... import as packages even without an installed checkout.
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st

from ui.views import common

PAGES = Path(__file__).resolve().parent / "views"


@st.cache_resource(show_spinner="First start: ingesting the demo protocols…")
def _demo_protocols(data_dir: str, protocols_dir: str) -> list[str]:
    """Once per server process and data dir; the index skips what it already holds."""
    from ui.demo_protocols import ensure_demo_protocols

    return ensure_demo_protocols(common.index(), Path(protocols_dir))


def main() -> None:
    st.set_page_config(page_title="TrialGuard", page_icon="🧪", layout="wide")
    # Page files (not callables): each runs its module's render() as a script, and tests can switch to them.
    # They live in ui/views/, not ui/pages/: Streamlit treats a pages/ folder beside the entry script as a
    # legacy multipage app and, in a server's first session, runs those files directly, bypassing this script.
    navigation = st.navigation(
        [
            st.Page(PAGES / "ask.py", title="Ask", icon="❓", url_path="ask", default=True),
            st.Page(PAGES / "batch.py", title="Batch", icon="📋", url_path="batch"),
            st.Page(PAGES / "review.py", title="Review", icon="✅", url_path="review"),
            st.Page(PAGES / "protocols.py", title="Protocols", icon="📄", url_path="protocols"),
            st.Page(PAGES / "corrections.py", title="Corrections", icon="✏️", url_path="corrections"),
            st.Page(PAGES / "quality.py", title="Quality", icon="📈", url_path="quality"),
        ]
    )
    common.reviewer_sidebar()
    settings = common.settings()
    protocols_dir = settings.protocols_dir if settings.protocols_dir.is_absolute() else Path(_ROOT) / settings.protocols_dir
    try:
        added = _demo_protocols(str(settings.data_dir.resolve()), str(protocols_dir))
    except Exception as exc:  # noqa: BLE001 - the app still opens; the Protocols page can ingest by hand
        st.error(f"Could not ingest the demo protocols from {protocols_dir}: {exc}")
        added = []
    if added:
        st.toast(f"Ingested demo protocols: {', '.join(added)}")
    navigation.run()


main()
