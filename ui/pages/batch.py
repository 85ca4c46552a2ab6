"""Batch: screen a whole lab export (CSV, SDTM LB, FHIR) against a protocol."""

from __future__ import annotations

import streamlit as st


def render() -> None:
    st.title("Batch")
    st.info("Batch screening arrives with reasoning.batch.")


if __name__ == "__main__":
    render()
