"""The options of a Failure Analysis run, defined once.

``failure_analysis.run()`` and ``run_async()`` take them as keyword arguments, in embedded and in
remote mode, and build a :class:`FailureAnalysisOptions` from them; the server's
``POST /api/v1/fa/runs`` body (``RunRequest``) extends this model, so its OpenAPI schema lists the
same fields; the engine's :class:`~valiqor_trace.analyzer.fa.engine.AnalysisOptions` derives from it.
Adding an option is adding a field here, and the keyword to ``run``/``run_async`` (and the
``FailureAnalysis`` protocol), which ``tests/analyzer/client/test_options.py`` holds them to.

The model checks types; the engine checks values against the taxonomy (an unknown bucket, a
subcategory filter that selects nothing), so every mode names a bad value the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic_core import ErrorDetails

from valiqor_trace.errors import ValidationError
from valiqor_trace.analyzer.fa.models import Thresholds

__all__ = ["ApiKey", "FailureAnalysisOptions", "option_errors"]

# A key travels in an HTTP header (to the judge, or to our server): printable ASCII only. Anything else is a
# typo or a stray newline from a file, and would fail later, far from the call.
ApiKey = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,512}$")]
_IDS = "as a list of ids (one id alone is a list of one)"
_KEY_PROBLEM = "has a space, a line break or a non-ASCII character, or is over 512 characters"
_MAX_PROBLEMS = 5  # a message stays readable; the first problems are enough to fix the call


class FailureAnalysisOptions(BaseModel):
    """The options of one Failure Analysis run: the keyword arguments of ``failure_analysis.run()``.

    Values are checked against the taxonomy when the run starts (``ValidationError`` naming the
    bad value and the valid ones). ``openai_api_key`` is never stored, logged or shown: it is left
    out of ``repr()`` and of every ``model_dump()``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    project_name: str | None = Field(
        default=None, examples=["my-app"],
        description="the run's project (default: a trace's own project; for a dataset, or a trace that names none, "
                    "the client's project_name)")
    feature_kind: str | None = Field(
        default=None, examples=["rag"],
        description="the kind every item is analyzed as: rag, agent, agentic_rag or generic_llm (default: "
                    "inferred per item)")
    run_eval: bool = Field(default=True, examples=[False],
                           description="whether to fill eval_metrics (True or False)")
    run_security: bool = Field(default=True, examples=[False],
                               description="whether to fill security_flags (True or False)")
    run_scan: bool = Field(
        default=True, examples=[False], description="whether to attach AST scan data if available (True or "
                                                    "False); the embedded engine has none and says so in "
                                                    "detectors_skipped")
    mandatory_eval_metrics: list[str] | None = Field(
        default=None, examples=[["groundedness"]],
        description="eval metrics that run even with run_eval=False, " + _IDS)
    mandatory_security_categories: list[str] | None = Field(
        default=None, examples=[["S1", "secret_disclosure"]],
        description="security categories (S1.. or their names) that run even with run_security=False, " + _IDS)
    subcategories: list[str] | None = Field(
        default=None, examples=[["entity_fabrication"]],
        description="only these failure subcategories (default: all), " + _IDS)
    buckets: list[str] | None = Field(
        default=None, examples=[["hallucination"]], description="only these failure buckets (default: all), " + _IDS)
    openai_api_key: ApiKey | None = Field(
        default=None, exclude=True, repr=False, examples=["sk-..."],
        description="the LLM judge's key for this run (BYOK): the key alone, printable ASCII without spaces or "
                    "line breaks (strip a key read from a file); never stored or logged")
    thresholds: Thresholds | None = Field(
        default=None, examples=[{"gate_severity": 2.0}],
        description="the alert / CI gate / review thresholds: Thresholds(...) or a dict of its fields (default: "
                    "Thresholds())")

    @field_validator("mandatory_eval_metrics", "mandatory_security_categories", "subcategories", "buckets",
                     mode="before")
    @classmethod
    def _one_name_is_a_list(cls, value: Any) -> Any:
        # run(buckets="hallucination") has always meant ["hallucination"]; a str is a Sequence, so
        # without this it would be refused (or, worse, read as a list of letters).
        return [value] if isinstance(value, str) else value

    @field_validator("openai_api_key", mode="before")
    @classmethod
    def _empty_key_is_no_key(cls, value: Any) -> Any:
        # run(openai_api_key=os.environ.get("KEY", "")) means "no key for this run": the configured one applies.
        return None if value == "" else value


@contextlib.contextmanager
def option_errors() -> Iterator[None]:
    """Turn a pydantic error building options into a :class:`ValidationError` naming the option and the fix.

    Example:
        with option_errors():
            options = FailureAnalysisOptions(buckets=buckets, run_eval=run_eval)
    """
    try:
        yield
    except pydantic.ValidationError as exc:
        problems = [_problem(error) for error in exc.errors()[:_MAX_PROBLEMS]]
        raise ValidationError("invalid Failure Analysis option: " + "; ".join(problems)) from None


def _problem(error: ErrorDetails) -> str:
    location = [str(part) for part in error["loc"]]
    name = location[0] if location else "options"
    field = FailureAnalysisOptions.model_fields.get(name)
    if field is None:  # not a field: an unknown keyword
        return f"unknown option {name!r}; valid options: {', '.join(FailureAnalysisOptions.model_fields)}"
    # The value is shown unless it is the key (or a part of one): a message may end up in a log.
    shown = "" if name == "openai_api_key" else f" (got {_short(error.get('input'))})"
    example = f", e.g. {name}={field.examples[0]!r}" if field.examples else ""
    message = _KEY_PROBLEM if error["type"] == "string_pattern_mismatch" else error["msg"]
    return f"{'.'.join(location)}: {message}{shown}; {name}: {field.description}{example}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
