"""Server down, timeout and garbage: the assessment falls back to the exact engine with a visible note."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from labs.errors import ConfigError
from reasoning.evaluate import ENGINE_VERSION, judge_criterion
from reasoning.llm import LLMClient
from reasoning.models import Assessment, Provenance
from reasoning.verify import review_with_llm
from llm_servers import fake_server, free_port
from reasoning_handmade import criterion, obs, protocol, rule

TEXT = "ALT or AST > 3 × ULN at screening."


def engine_assessment():
    c = criterion(TEXT, [rule(TEXT, "ALT or AST > 3 × ULN", "ALT", ">", value=3, multiple_of="ULN")])
    proto = protocol([c])
    observations = [obs("ALT", 200, "U/L", uln=40)]
    findings = [judge_criterion(proto.criteria[0], observations)]
    a = Assessment(protocol_id="TEST-001", version="1.0", overall=Assessment.overall_of(findings), summary="s",
                   findings=findings, observations=observations,
                   provenance=Provenance(engine_version=ENGINE_VERSION, created_at=dt.datetime.now(dt.timezone.utc)))
    return a, proto


def assert_fallback(result, engine, words):
    assert [f.verdict for f in result.findings] == [f.verdict for f in engine.findings]
    assert result.overall is engine.overall and result.guardrails["llm_fallback"] == 1
    assert result.provenance.llm_used is False
    assert any("LLM not used" in n and words in n for n in result.notes), result.notes


def test_server_down():
    a, proto = engine_assessment()
    llm = LLMClient(f"http://127.0.0.1:{free_port()}/v1", "m", timeout_s=2, retries=1, backoff_s=0.01)
    assert_fallback(review_with_llm(a, proto, llm), a, "cannot reach")


def test_timeout_with_retries_and_backoff():
    a, proto = engine_assessment()
    with fake_server("sleep", delay_s=1.5) as (url, calls):
        llm = LLMClient(url, "m", timeout_s=0.3, retries=1, backoff_s=0.05)
        started = time.perf_counter()
        result = review_with_llm(a, proto, llm)
        assert time.perf_counter() - started < 3
        assert calls["n"] == 2  # first try + one retry
    assert_fallback(result, a, "timed out")


@pytest.mark.parametrize("mode,words", [("text", "not an OpenAI chat completion"), ("cut", "not JSON"),
                                        ("badjson", "schema")])
def test_garbage(mode, words):
    a, proto = engine_assessment()
    with fake_server(mode) as (url, _):
        result = review_with_llm(a, proto, LLMClient(url, "m", timeout_s=2, retries=0))
    assert_fallback(result, a, words)


def test_configuration_is_checked_at_construction():
    with pytest.raises(ConfigError, match="TRIALGUARD_LLM_URL"):
        LLMClient("localhost:8000", "m")
    with pytest.raises(ConfigError, match="TRIALGUARD_LLM_MODEL"):
        LLMClient("http://127.0.0.1:1/v1", "")
    with pytest.raises(ConfigError, match="CONCURRENCY"):
        LLMClient("http://127.0.0.1:1/v1", "m", concurrency=0)


def test_concurrency_limit_bounds_requests_in_flight():
    with fake_server("sleep", delay_s=0.3) as (url, calls):
        llm = LLMClient(url, "m", timeout_s=5, retries=0, concurrency=2)
        started = time.perf_counter()
        llm.map(lambda _: llm.chat_json([{"role": "user", "content": "x"}], {"type": "object"}), range(4))
        elapsed = time.perf_counter() - started
    assert calls["n"] == 4 and elapsed >= 0.55  # 4 requests, 2 at a time, 0.3 s each
