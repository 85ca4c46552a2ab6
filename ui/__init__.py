"""Streamlit app, trialguard CLI, settings, reviewer feedback/audit store and report writers."""
