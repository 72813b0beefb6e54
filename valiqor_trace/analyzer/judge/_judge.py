"""``OpenAIJudge``: the FA engine's :class:`~valiqor_trace.analyzer.fa.judge.Judge`, on any OpenAI-compatible server.

One request per item decides every judge subcategory of that item (a batched rubric), with
the deterministic findings passed in to confirm or clear. Answers are cached by a hash of
(prompt version, model, server, messages), so re-analyzing the same item with the same
rubric and model costs nothing. A bad answer never fails the run: after one repair retry
the item keeps its deterministic tags and the judge's subcategories are reported skipped.
Only a refused key (401/403) fails the run, with an error that names the key's source.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, Protocol

import httpx

from valiqor_trace.analyzer.fa.detectors.base import ItemView
from valiqor_trace.analyzer.fa.judge import JudgeRequest, JudgeResult
from valiqor_trace.analyzer.fa.models import SkippedDetector
from valiqor_trace.analyzer.judge._http import ChatClient, ChatReply, SchemaNotSupported
from valiqor_trace.analyzer.judge._parse import JUDGE_DETECTOR, VerdictError, parse_verdicts, to_findings
from valiqor_trace.analyzer.judge._prompt import PROMPT_VERSION, messages, repair_message, verdict_schema
from valiqor_trace.analyzer.judge._settings import JudgeSettings
from valiqor_trace.errors import JudgeRequestError


class JudgeCache(Protocol):
    """Where judge verdicts are kept between runs (the run store implements it). Values hold no key."""

    def get_judge_verdicts(self, cache_key: str) -> str | None: ...

    def put_judge_verdicts(self, cache_key: str, *, model: str, prompt_version: str, verdicts: str,
                           tokens: int) -> None: ...


class OpenAIJudge:
    """An LLM judge on an OpenAI-compatible Chat Completions API (OpenAI, vLLM, Ollama, LM Studio...).

    Args:
        settings: model, server, key, limits (see :class:`JudgeSettings`).
        cache: optional verdict cache (the run store); ``None`` disables caching.
        transport: httpx transport (tests pass a mock); default: the network.
        sleep: how to wait between retries (tests record the waits).

    Attributes:
        available: always True (a judge without key or server is never built; see :func:`build_judge`).
        concurrency: how many items a run may analyze at once with this judge.
        requests: chat requests sent (retries and repair requests included).
        tokens_used: tokens spent so far (cached answers cost none).
        cache_hits: items answered from the cache.
    """

    available = True
    unavailable_reason = ""

    def __init__(self, settings: JudgeSettings, *, cache: JudgeCache | None = None,
                 transport: httpx.BaseTransport | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.concurrency = settings.concurrency
        self._cache = cache
        self._chat = ChatClient(settings, transport=transport, sleep=sleep)
        # A judge is built per run and dropped with it: close its connections then, without asking callers to.
        self._finalizer = weakref.finalize(self, self._chat.close)
        self._lock = threading.Lock()
        self._schema_supported = True
        self.requests = 0
        self.tokens_used = 0
        self.cache_hits = 0

    def __repr__(self) -> str:
        return f"OpenAIJudge(model={self.settings.model!r}, base_url={self.settings.shown_url!r})"

    def close(self) -> None:
        """Close the judge's HTTP connections (also done when the judge is garbage-collected)."""
        self._finalizer()

    def evaluate(self, request: JudgeRequest) -> JudgeResult:
        """Decide ``request.subcategories`` for ``request.item`` in one request (see the module docstring).

        Raises:
            JudgeAuthenticationError: the server refused the key.
        """
        ids = [str(s["id"]) for s in request.subcategories]
        if not ids:
            return JudgeResult()
        view = ItemView(request.item, request.feature_kind)
        prompt = messages(request, self.settings.max_chars)
        key = self._cache_key(prompt, ids)
        cached = self._cached(key)
        if cached is not None:
            return JudgeResult(findings=to_findings(cached, view), tokens_used=0,
                               skipped=_missing(ids, cached, "the cached judge answer has no verdict for it"))
        if self._over_budget():
            reason = f"judge token budget of {self.settings.token_budget} is spent for this run"
            return JudgeResult(skipped=[SkippedDetector(detector=f"{JUDGE_DETECTOR}:{s}", reason=reason) for s in ids])
        verdicts, tokens, error = self._ask(prompt, ids)
        if verdicts is None:
            reason = f"judge gave no usable answer (item {request.item_index}): {error}"
            return JudgeResult(tokens_used=tokens, skipped=[SkippedDetector(detector=JUDGE_DETECTOR, reason=reason)])
        self._store(key, verdicts, tokens)
        return JudgeResult(findings=to_findings(verdicts, view), tokens_used=tokens,
                           skipped=_missing(ids, verdicts, "the judge returned no verdict for it"))

    # -- the request -----------------------------------------------------------------

    def _ask(self, prompt: list[dict[str, str]], ids: list[str]) -> tuple[dict[str, Any] | None, int, str]:
        """(verdicts or None, tokens spent, why not); a refused key raises."""
        body: dict[str, Any] = {"model": self.settings.model, "temperature": 0, "messages": prompt}
        tokens = 0
        try:
            reply = self._complete(body, ids)
            tokens += reply.tokens
            try:
                return parse_verdicts(reply.content, ids), tokens, ""
            except VerdictError as exc:
                repair = {**body, "messages": [*prompt, {"role": "assistant", "content": reply.content[:4000]},
                                               repair_message(str(exc), ids)]}
                reply = self._complete(repair, ids)
                tokens += reply.tokens
                try:
                    return parse_verdicts(reply.content, ids), tokens, ""
                except VerdictError as again:
                    return None, tokens, f"unreadable after one repair retry: {again}"
        except JudgeRequestError as exc:
            return None, tokens, str(exc)

    def _complete(self, body: dict[str, Any], ids: list[str]) -> ChatReply:
        if self._schema_supported:
            try:
                return self._counted(self._chat.complete({**body, "response_format": verdict_schema(ids)}))
            except SchemaNotSupported:
                self._schema_supported = False  # this server: plain JSON instructions + the tolerant parser
        return self._counted(self._chat.complete(body))

    def _counted(self, reply: ChatReply) -> ChatReply:
        with self._lock:
            self.requests += reply.requests
            self.tokens_used += reply.tokens
        return reply

    def _over_budget(self) -> bool:
        budget = self.settings.token_budget
        with self._lock:
            return budget is not None and self.tokens_used >= budget

    # -- the cache -------------------------------------------------------------------

    def _cache_key(self, prompt: list[dict[str, str]], ids: list[str]) -> str:
        material = json.dumps({"prompt_version": PROMPT_VERSION, "model": self.settings.model,
                               "server": self.settings.base_url.rstrip("/"), "rubric": ids, "messages": prompt},
                              sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(material.encode("utf-8")).hexdigest()

    def _cached(self, key: str) -> dict[str, Any] | None:
        if self._cache is None:
            return None
        raw = self._cache.get_judge_verdicts(key)
        if raw is None:
            return None
        with self._lock:
            self.cache_hits += 1
        return json.loads(raw)

    def _store(self, key: str, verdicts: dict[str, Any], tokens: int) -> None:
        if self._cache is not None:
            self._cache.put_judge_verdicts(key, model=self.settings.model, prompt_version=PROMPT_VERSION,
                                           verdicts=json.dumps(verdicts, ensure_ascii=False), tokens=tokens)


def _missing(ids: list[str], verdicts: dict[str, Any], reason: str) -> list[SkippedDetector]:
    return [SkippedDetector(detector=f"{JUDGE_DETECTOR}:{sub}", reason=reason) for sub in ids if sub not in verdicts]
