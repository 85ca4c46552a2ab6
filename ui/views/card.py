"""The assessment card: verdict badge (words and icon, not colour alone), findings, citations in context."""

from __future__ import annotations

import html
import io
from pathlib import Path

import pandas as pd
import streamlit as st

from ingest.models import Criterion, Protocol
from reasoning.models import Assessment, Citation, Finding, OverallVerdict, Verdict
from reasoning.verdict_words import kind_name, words
from ui.units_display import with_unit
from ui.views import common

BADGES = {
    OverallVerdict.DEVIATION: ("⛔", "DEVIATION", "#b3261e", "#fde7e9"),
    OverallVerdict.NO_DEVIATION: ("✅", "NO DEVIATION", "#146c2e", "#e6f4ea"),
    OverallVerdict.NEEDS_REVIEW: ("⚠️", "NEEDS REVIEW", "#7a5900", "#fff4d6"),
}


def badge_html(overall: OverallVerdict) -> str:
    icon, words, fg, bg = BADGES[overall]
    return (
        f'<span role="status" aria-label="Overall verdict: {words}" style="display:inline-block;padding:0.35em 0.9em;'
        f"border:2px solid {fg};border-radius:0.5em;color:{fg};background:{bg};font-weight:700;"
        f'font-size:1.2em">{icon} Overall verdict: {words}</span>'
    )


def _inert_html(text: str) -> str:
    """Escaped for HTML, with line breaks as character references: the Markdown around the <div> never sees a
    blank line, so the HTML block never ends and no document text is read as Markdown (an image link stays text)."""
    return html.escape(text).replace("\r", "&#13;").replace("\n", "&#10;")


def highlighted(text: str, quote: str, start: int | None = None, end: int | None = None) -> str:
    """The criterion text as HTML with the cited span marked; the span is located by offsets, else by search."""
    if start is None or end is None or text[start:end] != quote:
        start = text.find(quote) if quote else -1
        end = start + len(quote)
    if start < 0:
        return _inert_html(text)
    return (
        _inert_html(text[:start])
        + f'<mark style="background:#ffe066;padding:0 2px"><b>{_inert_html(text[start:end])}</b></mark>'
        + _inert_html(text[end:])
    )


def findings_table(findings: list[Finding]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "criterion": f.label,
                "kind": kind_name(f.criterion_kind),
                "verdict": words(f.verdict, f.criterion_kind),
                "rationale": f.rationale,
                "arithmetic": "; ".join(f.arithmetic),
                "rule source": f.rule_source,
                "cited": "yes" if f.citations else "no",
            }
            for f in findings
        ]
    )


def _protocol(assessment: Assessment) -> Protocol | None:
    try:
        return common.index().protocol(assessment.protocol_id, assessment.version)
    except Exception:  # noqa: BLE001 - protocol removed or index not reachable: the card still shows the stored quotes
        return None


def _criterion(protocol: Protocol | None, criterion_id: str) -> Criterion | None:
    if protocol is None:
        return None
    return next((c for c in protocol.criteria if c.id == criterion_id), None)


def page_pdf_bytes(protocol: Protocol, page_number: int) -> bytes | None:
    """That single page of the source PDF, to open in the browser's own viewer; None for non-PDF sources."""
    path = Path(protocol.source_file)
    if not path.is_absolute():
        path = common.REPO_ROOT / path
    if path.suffix.lower() != ".pdf" or not path.is_file():
        return None
    from pypdf import PdfReader, PdfWriter

    reader = PdfReader(str(path))
    if not 1 <= page_number <= len(reader.pages):
        return None
    writer = PdfWriter()
    writer.add_page(reader.pages[page_number - 1])
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def render_citation(citation: Citation, protocol: Protocol | None, key: str) -> None:
    criterion = _criterion(protocol, citation.criterion_id)
    where = f"{citation.protocol_id} v{citation.version} · criterion {citation.label}"
    if citation.section:
        where += f" · section {citation.section}"
    where += f" · page {citation.page}"
    verified = "quote verified verbatim" if citation.verified else "quote NOT verified"
    st.markdown(f"**{common.md(where)}** — _{verified}_")
    context = criterion.text if criterion is not None else citation.quote
    st.markdown(
        '<div style="border-left:4px solid #888;padding:0.4em 0.8em;margin:0.3em 0;white-space:pre-wrap">'
        + highlighted(context, citation.quote, citation.start, citation.end)
        + "</div>",
        unsafe_allow_html=True,
    )
    if protocol is None:
        return
    page = next((p for p in protocol.pages if p.number == citation.page), None)
    if page is not None and st.toggle(f"Show page {citation.page} of the protocol", key=f"page-{key}"):
        st.markdown(
            '<div style="white-space:pre-wrap;font-family:monospace;font-size:0.85em;max-height:28em;'
            'overflow:auto;border:1px solid #ccc;padding:0.6em">'
            + highlighted(page.text, citation.quote)
            + "</div>",
            unsafe_allow_html=True,
        )
        pdf = page_pdf_bytes(protocol, citation.page)
        if pdf is not None:
            st.download_button(
                f"Open page {citation.page} as PDF",
                pdf,
                file_name=f"{citation.protocol_id}_v{citation.version}_p{citation.page}.pdf",
                mime="application/pdf",
                key=f"pdf-{key}",
            )


def render_assessment(assessment: Assessment, key: str = "card") -> None:
    with st.container(border=True):
        st.markdown(badge_html(assessment.overall), unsafe_allow_html=True)
        st.markdown(
            f"Protocol **{assessment.protocol_id}** version **{assessment.version}** · "
            f"engine {assessment.provenance.engine_version}"
            + (f" · model {assessment.provenance.model}" if assessment.provenance.model else " · no LLM")
        )
        st.markdown(common.md(assessment.summary))
        for note in assessment.notes:
            st.info(note)
        if assessment.observations:
            st.caption(
                "Judged on: "
                + "; ".join(
                    f"{o.analyte} {with_unit(f'{o.value:g}', o.unit) if o.unit else f'{o.value:g} (no unit)'}"
                    + (f" (ULN {o.uln:g})" if o.uln is not None else "")
                    + (f" (LLN {o.lln:g})" if o.lln is not None else "")
                    + (f" on {o.date}" if o.date else "")
                    for o in assessment.observations
                )
            )
        if not assessment.findings:
            st.warning("No criterion of this protocol governs these values; a reviewer should check.")
            return
        st.dataframe(findings_table(assessment.findings), hide_index=True, width="stretch")
        protocol = _protocol(assessment)
        for i, finding in enumerate(assessment.findings):
            title = (f"Criterion {common.md(finding.label)} ({kind_name(finding.criterion_kind)}): "
                     f"{words(finding.verdict, finding.criterion_kind)}")
            with st.expander(title, expanded=finding.verdict is Verdict.VIOLATES):
                st.markdown(common.md(finding.rationale))
                for line in finding.arithmetic:
                    st.code(line, language=None)
                if finding.rule_source == "reviewer":
                    st.info("The rule applied here comes from a reviewer's correction, not from the parsed text.")
                for note in finding.notes:
                    st.caption(common.md(note))
                if not finding.citations:
                    st.caption("No citation.")
                for j, citation in enumerate(finding.citations):
                    render_citation(citation, protocol, key=f"{key}-{i}-{j}")
