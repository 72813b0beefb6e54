"""What a judge needs to know: model, server, key (and where the key came from), limits."""

from __future__ import annotations

from dataclasses import dataclass, field

from valiqor_trace.internal import repr_without_passwords, without_password

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class JudgeSettings:
    """Settings of an :class:`~valiqor_trace.analyzer.judge.OpenAIJudge`.

    Attributes:
        model: the chat model that judges.
        base_url: an OpenAI-compatible API root (``.../v1``); default OpenAI's.
        api_key: the bearer key; ``None`` for a local server that needs none. Never in ``repr``.
        key_source: where the key came from (``"argument"``, ``"VALIQOR_OPENAI_API_KEY"``...), named in errors
            instead of the key.
        timeout_s: per-request timeout.
        max_retries: retries after a 429, a 5xx, a timeout or a connection error (so up to ``max_retries + 1``
            attempts).
        backoff_s: first backoff; doubles each retry, capped at ``max_backoff_s``. A ``Retry-After`` /
            ``retry-after-ms`` header overrides it (waited out up to 60 s).
        concurrency: how many judge requests may be in flight at once (runs analyze that many items in parallel).
        token_budget: the most tokens one run may spend on the judge (``None``: no limit). When spent, the
            judge stops asking and its subcategories are reported in ``detectors_skipped``.
        max_chars: longest text of one field (input, output, a passage, a tool output) sent to the judge.
    """

    model: str = DEFAULT_MODEL
    base_url: str = DEFAULT_BASE_URL
    api_key: str | None = field(default=None, repr=False)
    key_source: str | None = None
    timeout_s: float = 60.0
    max_retries: int = 3
    backoff_s: float = 0.5
    max_backoff_s: float = 20.0
    concurrency: int = 8
    token_budget: int | None = None
    max_chars: int = 6000

    __repr__ = repr_without_passwords  # base_url may carry user:password@

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError(f"judge concurrency must be >= 1, got {self.concurrency}")
        if self.max_retries < 0:
            raise ValueError(f"judge max_retries must be >= 0, got {self.max_retries}")
        if self.token_budget is not None and self.token_budget < 1:
            raise ValueError(f"judge token_budget must be >= 1 or None, got {self.token_budget}")

    @property
    def chat_url(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"

    @property
    def shown_url(self) -> str:
        """``base_url`` as messages show it: a ``user:password@`` password masked."""
        return without_password(self.base_url)

    @property
    def shown_chat_url(self) -> str:
        return without_password(self.chat_url)

    @property
    def key_label(self) -> str:
        """How errors name the key: its source, never its value."""
        if self.api_key is None:
            return "no key was sent"
        source = self.key_source or ""
        if source == "argument":
            return "the key passed as openai_api_key="
        if source.startswith("env "):
            return f"the key in the {source[4:]} environment variable"
        return f"the key from {source}" if source else "the configured key"
