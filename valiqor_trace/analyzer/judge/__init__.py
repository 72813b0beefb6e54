"""LLM judges for Failure Analysis: bring your own key, any OpenAI-compatible model.

:func:`build_judge` turns the client's settings into an :class:`OpenAIJudge` (or ``None``
when there is neither a key nor a judge server, so the engine skips the judge
subcategories with the reason). See ``docs/judge.md``.
"""

from __future__ import annotations

from typing import Any

from valiqor_trace.errors import ValidationError
from valiqor_trace.internal import without_password
from valiqor_trace.analyzer.judge._judge import JudgeCache, OpenAIJudge
from valiqor_trace.analyzer.judge._prompt import PROMPT_VERSION
from valiqor_trace.analyzer.judge._settings import DEFAULT_BASE_URL, DEFAULT_MODEL, JudgeSettings

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MODEL",
    "PROMPT_VERSION",
    "JudgeCache",
    "JudgeSettings",
    "OpenAIJudge",
    "build_judge",
]


def build_judge(*, api_key: str | None, key_source: str | None, model: str | None = None,
                base_url: str | None = None, cache: JudgeCache | None = None, **limits: Any) -> OpenAIJudge | None:
    """The judge for these settings, or ``None`` with neither a key nor a base URL (nothing to ask).

    Args:
        api_key: the key (``None`` is fine for a local server that needs none).
        key_source: where it came from, for error messages (``"argument"``, ``"env OPENAI_API_KEY"``).
        model: the judge model (default :data:`DEFAULT_MODEL`).
        base_url: an OpenAI-compatible API root (default OpenAI's).
        cache: where verdicts are cached (the run store).
        **limits: ``timeout_s``, ``max_retries``, ``concurrency``, ``token_budget`` (see :class:`JudgeSettings`).
    """
    if not api_key and not base_url:
        return None
    if base_url and not base_url.startswith(("http://", "https://")):
        raise ValidationError(f"judge_base_url {without_password(base_url)!r} must start with http:// or https:// "
                              "(e.g. http://127.0.0.1:8000/v1 for a local vLLM server)")
    if api_key and not _header_safe(api_key):
        where = "openai_api_key=" if key_source == "argument" else (key_source or "the configured key")
        raise ValidationError(f"the judge key from {where} has characters an HTTP header cannot carry (non-ASCII, "
                              "spaces or control characters): check that it was copied whole and nothing else")
    settings = JudgeSettings(model=model or DEFAULT_MODEL, base_url=base_url or DEFAULT_BASE_URL,
                             api_key=api_key or None, key_source=key_source if api_key else None,
                             **{k: v for k, v in limits.items() if v is not None})
    return OpenAIJudge(settings, cache=cache)


def _header_safe(value: str) -> bool:
    return value.isascii() and value.isprintable() and not any(c.isspace() for c in value)
