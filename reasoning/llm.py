"""A small client for OpenAI-compatible Chat Completions servers (vLLM in production), over httpx.

Only what the reasoner needs: one JSON-schema-bound completion per call, with a per-request timeout, retries with
exponential backoff on transient failures (connection refused, timeout, HTTP 429/5xx, an unparsable body) and a
concurrency limit shared by every thread that uses the client (batch screening runs requests in a thread pool).
Every failure ends in LLMError with a message saying what went wrong; callers fall back to the exact engine.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

import httpx

from labs.errors import ConfigError, TrialGuardError

T = TypeVar("T")


class LLMError(TrialGuardError):
    """The LLM server could not give a usable answer (down, timed out, HTTP error, garbage)."""


class LLMClient:
    def __init__(
        self,
        base_url: str,
        model: str,
        timeout_s: float = 60.0,
        retries: int = 2,
        concurrency: int = 4,
        *,
        api_key: str | None = None,
        backoff_s: float = 0.5,
        max_tokens: int = 768,
    ):
        if not base_url or not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"TRIALGUARD_LLM_URL must be an http(s) URL such as http://127.0.0.1:8000/v1, got {base_url!r}")
        if not model:
            raise ConfigError("TRIALGUARD_LLM_MODEL is not set: name the model served at TRIALGUARD_LLM_URL")
        if timeout_s <= 0:
            raise ConfigError(f"TRIALGUARD_LLM_TIMEOUT_S must be > 0, got {timeout_s}")
        if retries < 0:
            raise ConfigError(f"TRIALGUARD_LLM_RETRIES must be >= 0, got {retries}")
        if concurrency < 1:
            raise ConfigError(f"TRIALGUARD_LLM_CONCURRENCY must be >= 1, got {concurrency}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout_s = timeout_s
        self.retries = retries
        self.concurrency = concurrency
        self.backoff_s = backoff_s
        self.max_tokens = max_tokens
        self._slots = threading.BoundedSemaphore(concurrency)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(timeout=httpx.Timeout(timeout_s), headers=headers)

    @classmethod
    def from_settings(cls, settings) -> "LLMClient":
        if not settings.llm_url:
            raise ConfigError("TRIALGUARD_LLM_URL is not set: point it at an OpenAI-compatible server (vLLM)")
        return cls(
            settings.llm_url,
            settings.llm_model or "",
            settings.llm_timeout_s,
            settings.llm_retries,
            settings.llm_concurrency,
            api_key=settings.llm_api_key,
        )

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------------------------------------ calls
    def chat_json(self, messages: list[dict[str, str]], schema: dict[str, Any], *, name: str = "assessment",
                  max_tokens: int | None = None) -> dict[str, Any]:
        """One completion whose content must be a JSON object; the schema is enforced by the server."""
        body = {
            "model": self.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": max_tokens or self.max_tokens,
            # the OpenAI structured-output form; vLLM compiles it into a grammar (guided_json is gone)
            "response_format": {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}},
        }
        last = "no attempt made"
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff_s * (2 ** (attempt - 1)))
            try:
                with self._slots:
                    response = self._http.post(f"{self.base_url}/chat/completions", json=body)
            except httpx.TimeoutException:
                last = f"timed out after {self.timeout_s:g} s"
                continue
            except httpx.HTTPError as exc:
                last = f"cannot reach {self.base_url}: {type(exc).__name__}: {exc}"
                continue
            if response.status_code == 429 or response.status_code >= 500:
                last = f"HTTP {response.status_code} from {self.base_url}"
                continue
            if response.status_code >= 400:
                raise LLMError(f"HTTP {response.status_code} from {self.base_url}: {response.text[:200]}")
            try:
                return parse_content(response)
            except LLMError as exc:
                last = str(exc)
                continue
        raise LLMError(f"LLM gave no usable answer after {self.retries + 1} attempt(s): {last}")

    def map(self, fn: Callable[[T], Any], items: list[T]) -> list[Any]:
        """Run fn over items with at most `concurrency` requests in flight (the semaphore bounds them too)."""
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(fn, items))


def parse_content(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
        content = payload["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise LLMError(f"not an OpenAI chat completion: {response.text[:120]!r}") from exc
    if not isinstance(content, str):
        raise LLMError("completion has no text content")
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise LLMError(f"completion is not JSON (cut off or free text): {content[:120]!r}") from exc
    if not isinstance(data, dict):
        raise LLMError("completion JSON is not an object")
    return data
