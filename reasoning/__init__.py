"""Rule evaluation, the LLM reasoner, citation verification, assessments and batch screening."""
