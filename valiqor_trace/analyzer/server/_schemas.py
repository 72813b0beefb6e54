"""Request and response bodies of the REST API that are not already analyzer models."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from valiqor_trace.analyzer.fa.models import Thresholds

MAX_WAIT_S = 60.0
# An API key travels in an HTTP header: printable ASCII only (anything else is a typo, and would fail later).
ApiKey = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,512}$")]


class RunRequest(BaseModel):
    """``POST /api/v1/fa/runs``: the arguments of ``failure_analysis.run`` / ``run_async``."""

    model_config = ConfigDict(extra="forbid")

    trace_id: str | None = Field(None, description="32-hex W3C trace id (a tr_ prefix is accepted)")
    dataset: list[Any] | None = Field(None, description="items {input, output, context?, tool_calls?}")
    project_name: str | None = None
    feature_kind: str | None = None
    run_eval: bool = True
    run_security: bool = True
    run_scan: bool = True
    mandatory_eval_metrics: list[str] | None = None
    mandatory_security_categories: list[str] | None = None
    subcategories: list[str] | None = None
    buckets: list[str] | None = None
    openai_api_key: ApiKey | None = Field(None, description="BYOK judge key for this run; never stored or logged")
    thresholds: Thresholds | None = None
    wait_s: float = Field(10.0, ge=0.0, le=MAX_WAIT_S,
                          description="answer 200 with the result if the run ends within this many seconds, "
                                      "else 202 with the run id (0: always 202)")


class PlaygroundRequest(BaseModel):
    """``POST /api/v1/fa/playground``: one input/output pair (rate-limited)."""

    model_config = ConfigDict(extra="forbid")

    input_text: str
    output_text: str
    context: list[str] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    openai_api_key: ApiKey | None = None


class RunAccepted(BaseModel):
    """202 answer of ``POST /api/v1/fa/runs``: the run goes on; poll ``status_url``."""

    run_id: str
    status: str
    progress_percent: float
    current_item: int
    total_items: int
    status_url: str
    result_url: str


class Count(BaseModel):
    count: int


class Health(BaseModel):
    status: str
    version: str
    queued_spans: int
    refused_batches: int
    live_runs: int


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class ImportSummary(BaseModel):
    """Answer of ``POST /api/v1/traces/import`` (``client.traces.import_file``)."""

    path: str
    format: str
    spans_read: int
    spans_new: int
    trace_ids: list[str] = Field(default_factory=list)
