"""The client's settings: argument > ``VALIQOR_*`` env > ``.valiqorrc`` > default.

The table itself (:data:`CLIENT_SETTINGS`) is the core's, next to ``init()``'s, so that both know every
``.valiqorrc`` key; here it becomes a typed :class:`ClientConfig`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from valiqor_trace.internal import (
    CLIENT_SETTINGS,
    DEFAULT_MAX_FIELD_CHARS,
    describe_store,
    is_database_url,
    repr_without_passwords,
    resolve_table,
    store_target,
)


@dataclass(frozen=True)
class ClientConfig:
    """Resolved client settings; secrets (keys, URL passwords) are kept out of ``repr``."""

    project_name: str
    home: str
    base_url: str | None = None
    store_path: str | None = None
    run_store_path: str | None = None
    database_url: str | None = None
    retention_days: float | None = None
    judge_model: str | None = None
    judge_base_url: str | None = None
    judge_timeout_s: float = 60.0
    judge_max_retries: int = 3
    judge_concurrency: int = 8
    judge_token_budget: int | None = None
    trace_timeout_s: float = 5.0
    max_field_chars: int = DEFAULT_MAX_FIELD_CHARS
    api_key: str | None = field(default=None, repr=False)
    openai_api_key: str | None = field(default=None, repr=False)
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    __repr__ = repr_without_passwords  # base_url / judge_base_url may carry user:password@

    @property
    def trace_store_file(self) -> str:
        """The trace store: the PostgreSQL URL, else the SQLite file (a ``store_path`` argument over
        ``$VALIQOR_DATABASE_URL``: the file)."""
        return store_target(self.database_url, self.store_path, os.path.join(self.home, "traces.db"), self.sources,
                            "store_path")

    @property
    def run_store_file(self) -> str:
        """The run store: the PostgreSQL URL, else the SQLite file (as :attr:`trace_store_file` chooses)."""
        return store_target(self.database_url, self.run_store_path, os.path.join(self.home, "runs.db"),
                            self.sources, "run_store_path")

    @property
    def run_store_where(self) -> str:
        """Where the run store is, for messages: the file's absolute path, or the URL without its password."""
        return describe_store(self.run_store_file)

    def has_run_store(self) -> bool:
        """Whether there is a run store to read (a file that exists; a database always is) — reading must not
        create one."""
        return is_database_url(self.run_store_file) or os.path.exists(self.run_store_file)


def resolve_client_config(arguments: Mapping[str, Any]) -> ClientConfig:
    values, sources = resolve_table(CLIENT_SETTINGS, arguments, owner="ValiqorClient")
    return ClientConfig(**values, sources=sources)
