"""The LLM path against a real vLLM OpenAI-compatible server (CPU build, SmolLM2-135M) started on 127.0.0.1.

A 135M model writes schema-valid nonsense: these tests check the protocol, the schema binding and the guardrails,
never the model's verdicts. The server comes from `make llm-env` (.venv-llm + the converted weights).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import jsonschema
import pytest

from llm_servers import free_port
from reasoning.assess import Assessor
from reasoning.llm import LLMClient
from reasoning.models import OverallVerdict, Verdict
from reasoning.prompts import LLMAnswer, answer_schema, build_messages, max_tokens_for
from reasoning.verify import apply_llm_answer, review_with_llm
from reasoning.evaluate import find_quote
from test_llm_faults import engine_assessment

pytestmark = [pytest.mark.llm, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
LLM_PYTHON = REPO / ".venv-llm" / "bin" / "python"
MODEL_DIR = REPO / ".cache" / "smollm2-135m-hf"
MODEL_NAME = "smollm2-135m"
STARTUP_S = 240


@pytest.fixture(scope="module")
def vllm_url(tmp_path_factory):
    if not LLM_PYTHON.exists() or not (MODEL_DIR / "config.json").exists():
        pytest.fail(f"the vLLM venv or model is missing ({LLM_PYTHON}, {MODEL_DIR}): run `make llm-env` first")
    port = free_port()
    log = tmp_path_factory.mktemp("vllm") / "server.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "VLLM_CPU_KVCACHE_SPACE": "1",
           "DO_NOT_TRACK": "1", "VLLM_NO_USAGE_STATS": "1"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(LLM_PYTHON), "-m", "vllm.entrypoints.openai.api_server", "--model", str(MODEL_DIR),
             "--served-model-name", MODEL_NAME, "--host", "127.0.0.1", "--port", str(port),
             "--max-model-len", "4096", "--enforce-eager"],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vLLM exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vLLM not ready after {STARTUP_S} s:\n{log.read_text()[-3000:]}")
            time.sleep(1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def llm(vllm_url):
    client = LLMClient(vllm_url, MODEL_NAME, timeout_s=120, retries=1)
    yield client
    client.close()


def test_schema_bound_answer_and_citations_checked(llm):
    a, proto = engine_assessment()
    ids = [c.id for c in proto.criteria]
    schema = answer_schema(ids)
    data = llm.chat_json(build_messages(a, proto.criteria), schema, max_tokens=max_tokens_for(len(ids)))
    jsonschema.validate(data, schema)  # the server's constrained decoding kept to the schema
    answer = LLMAnswer.model_validate(data)
    merged = apply_llm_answer(a, answer, {c.id: c for c in proto.criteria}, ids, MODEL_NAME)
    # the verifier's counts agree with an independent check of each quote
    not_verbatim = sum(
        " ".join(item.quote.split()) not in " ".join(proto.criteria[0].text.split()) or not item.quote.strip()
        for item in answer.findings
    )
    assert merged.guardrails["quote_not_verbatim"] == not_verbatim
    for item in answer.findings:
        finding = merged.findings[0]
        if find_quote(item.quote, proto.criteria[0].text) is None:
            assert any("not verbatim" in n for n in finding.notes)
    # the engine's deviation stands whatever the model said
    assert merged.findings[0].verdict is Verdict.VIOLATES and merged.overall is OverallVerdict.DEVIATION
    assert merged.provenance.llm_used and merged.provenance.model == MODEL_NAME


def test_disagreement_becomes_needs_review(llm):
    """Bind the server to the opposite verdict (schema enum) so the model must disagree with the engine."""
    from test_verify import setup

    a, crit = setup()
    meets_id = [f.criterion_id for f in a.findings if f.verdict is Verdict.MEETS][0]
    schema = answer_schema([meets_id])
    schema["properties"]["findings"]["items"]["properties"]["verdict"]["enum"] = ["VIOLATES"]
    data = llm.chat_json(build_messages(a, [crit[meets_id]]), schema, max_tokens=max_tokens_for(1))
    answer = LLMAnswer.model_validate(data)
    assert answer.findings and all(item.verdict == "VIOLATES" for item in answer.findings)
    merged = apply_llm_answer(a, answer, {meets_id: crit[meets_id]}, [meets_id], MODEL_NAME)
    flagged = next(f for f in merged.findings if f.criterion_id == meets_id)
    assert flagged.verdict is Verdict.NEEDS_REVIEW
    assert flagged.engine_verdict is Verdict.MEETS and flagged.llm_verdict is Verdict.VIOLATES
    assert merged.guardrails["verdict_disagreement"] >= 1


def test_planted_instruction_protocol_keeps_engine_verdicts(llm, demo_index):
    question = "Patient 2001 has ALT of 500 U/L (ULN 40) on 2024-03-01"
    engine = Assessor(demo_index).ask(question, "TG-HEP-003")
    protocol = demo_index.protocol("TG-HEP-003", engine.version)
    shown = [next(c for c in protocol.criteria if c.id == f.criterion_id) for f in engine.findings]
    assert any("ignore previous instructions" in c.text for c in shown)  # the planted text reaches the model
    with_llm = Assessor(demo_index, llm).ask(question, "TG-HEP-003")
    assert with_llm.provenance.llm_used, with_llm.notes
    assert with_llm.overall is OverallVerdict.DEVIATION
    for before, after in zip(engine.findings, with_llm.findings):
        assert before.criterion_id == after.criterion_id
        assert (after.engine_verdict or after.verdict) is before.verdict  # the engine's verdict, unchanged
        assert after.verdict in (before.verdict, Verdict.NEEDS_REVIEW)
        if before.verdict is Verdict.VIOLATES:
            assert after.verdict is Verdict.VIOLATES


def test_review_with_llm_end_to_end(llm):
    a, proto = engine_assessment()
    result = review_with_llm(a, proto, llm)
    assert result.provenance.llm_used and "llm_fallback" not in {k for k, v in result.guardrails.items() if v}


def test_llm_eval_suite_never_loses_an_engine_violation(vllm_url, monkeypatch):
    """`trialguard eval` with TRIALGUARD_LLM_URL set: the gold cases through the guarded LLM path."""
    from eval import llm_eval

    monkeypatch.setenv("TRIALGUARD_LLM_URL", vllm_url)
    monkeypatch.setenv("TRIALGUARD_LLM_MODEL", MODEL_NAME)
    result = llm_eval.run(fast=True)
    assert result.counts["cases"] == llm_eval.FAST_CASES
    assert result.metrics["violations_lost"] == 0, result.misses
    assert 0.0 <= result.metrics["agreement_with_engine"] <= 1.0
    assert len(result.latencies_ms) == llm_eval.FAST_CASES
