"""What every detector is and sees.

A :class:`Detector` is a named check over one :class:`ItemView`. It returns ``None`` when
it does not apply to the item (nothing to check: no tag is emitted), ``[]`` when it
checked and found nothing (the engine emits *pass* tags for its subcategories), or a
list of :class:`~valiqor_trace.analyzer.fa.models.Finding` (``fail`` or ``unsure``).

:class:`ItemView` wraps an :class:`~valiqor_trace.analyzer.models.FAItem` with lazily computed,
shared views (the source index, trace facts) and builds evidence that carries span ids
whenever the item came from a trace.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from valiqor_trace.analyzer.fa.source_index import SourceIndex
from valiqor_trace.analyzer.fa.models import FEATURE_KINDS, Decision, EvidenceItem, Finding
from valiqor_trace.analyzer.fa.text import clip
from valiqor_trace.analyzer.models import FAItem, ToolCall, TraceFacts

CheckResult = list[Finding] | None


@dataclass(frozen=True)
class Detector:
    """One deterministic check.

    Attributes:
        name: stable id shown in ``detectors_run`` / ``detectors_skipped``.
        subcategories: the taxonomy subcategories it decides.
        check: the function; see the module docstring for its return contract.
        feature_kinds: kinds it runs for (further narrowed by each subcategory's scope).
        needs_trace: True when it can only work on trace metadata (span status, finish reasons).
        pass_confidence: how sure a clean result is; used for the pass tags it yields.
    """

    name: str
    subcategories: tuple[str, ...]
    check: Callable[[ItemView], CheckResult]
    feature_kinds: tuple[str, ...] = FEATURE_KINDS
    needs_trace: bool = False
    pass_confidence: float = 0.8


class ItemView:
    """An FA item plus cached derived facts, as detectors read it."""

    def __init__(self, item: FAItem, feature_kind: str) -> None:
        self.item = item
        self.feature_kind = feature_kind
        self.meta: dict[str, Any] = item.metadata or {}
        self._memo: dict[str, Any] = {}

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        """Compute a derived value once per item, shared by every detector that needs it."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    # --- raw parts -------------------------------------------------------------------------
    @property
    def input(self) -> str:
        return self.item.input

    @property
    def output(self) -> str:
        return self.item.output

    @property
    def context(self) -> list[str]:
        return self.item.context

    @property
    def tool_calls(self) -> list[ToolCall]:
        return self.item.tool_calls

    @property
    def is_trace(self) -> bool:
        """True when the item was reconstructed from a trace (span ids and trace facts may exist)."""
        return bool(self.item.trace_id) or TraceFacts.SPAN_COUNT in self.meta

    # --- trace facts -----------------------------------------------------------------------
    def fact(self, key: str, default: Any = None) -> Any:
        value = self.meta.get(key)
        return default if value is None else value

    @property
    def user_text(self) -> str:
        """Everything the user wrote: the request, plus the earlier user turns a trace recorded."""
        turns = [t for t in self.fact(TraceFacts.USER_TURNS, []) if isinstance(t, str) and t]
        return "\n".join([self.input, *turns]) if turns else self.input

    @property
    def system_prompt(self) -> str:
        return self.fact(TraceFacts.SYSTEM_PROMPT, "") or ""

    @property
    def finish_reasons(self) -> list[str]:
        return [str(r).lower() for r in self.fact(TraceFacts.FINISH_REASONS, [])]

    @property
    def error_spans(self) -> list[dict[str, Any]]:
        return [e for e in self.fact(TraceFacts.ERROR_SPANS, []) if isinstance(e, dict)]

    @property
    def output_error(self) -> dict[str, Any] | None:
        """The error the run ended with instead of an answer (its outermost agent/chain span), if any."""
        value = self.fact(TraceFacts.OUTPUT_ERROR)
        return value if isinstance(value, dict) else None

    @property
    def llm_calls(self) -> list[dict[str, Any]]:
        return [c for c in self.fact(TraceFacts.LLM_CALLS, []) if isinstance(c, dict)]

    @cached_property
    def tool_definitions(self) -> dict[str, dict[str, Any]]:
        """Offered tools by name (empty when unknown)."""
        found: dict[str, dict[str, Any]] = {}
        for definition in self.fact(TraceFacts.TOOL_DEFINITIONS, []):
            if isinstance(definition, dict) and definition.get("name"):
                found[str(definition["name"])] = definition
        return found

    @cached_property
    def executed_outputs(self) -> list[tuple[int, str]]:
        """(tool call index, output text) of every tool call that produced output."""
        return [(i, c.output) for i, c in enumerate(self.tool_calls) if c.executed and c.output]

    # --- sources ---------------------------------------------------------------------------
    @cached_property
    def sources(self) -> SourceIndex:
        """Everything the model was given: input, context, tool outputs, system prompt."""
        texts = [self.input, *self.context, *(text for _, text in self.executed_outputs)]
        if self.system_prompt:
            texts.append(self.system_prompt)
        return SourceIndex(texts)

    @cached_property
    def has_grounding_sources(self) -> bool:
        """Whether there is retrieved or tool-returned material to check the answer against (read once: most
        grounding checks ask)."""
        return any(c.strip() for c in self.context) or bool(self.executed_outputs)

    # --- evidence --------------------------------------------------------------------------
    def _ids(self, key: str) -> list[str]:
        return [str(s) for s in self.fact(key, []) if s]

    def output_span_id(self) -> str | None:
        ids = self._ids(TraceFacts.OUTPUT_SPAN_IDS)
        return ids[-1] if ids else None

    def input_span_id(self) -> str | None:
        ids = self._ids(TraceFacts.INPUT_SPAN_IDS)
        return ids[0] if ids else None

    def system_prompt_span_id(self) -> str | None:
        """The LLM span whose system message is :attr:`system_prompt` (trace mode), else the input's span."""
        return self.fact(TraceFacts.SYSTEM_PROMPT_SPAN_ID) or self.input_span_id()

    def context_span_id(self, index: int) -> str | None:
        ids = self.fact(TraceFacts.CONTEXT_SPAN_IDS, [])
        return str(ids[index]) if index < len(ids) and ids[index] else None

    def in_output(self, start: int | None = None, end: int | None = None, note: str | None = None,
                  text: str | None = None) -> EvidenceItem:
        quote = text if text is not None else (self.output[start:end] if start is not None else self.output)
        return EvidenceItem(source="output", text=clip(quote), span_id=self.output_span_id(), start=start, end=end,
                            note=note)

    def in_input(self, start: int | None = None, end: int | None = None, note: str | None = None) -> EvidenceItem:
        quote = self.input[start:end] if start is not None else self.input
        return EvidenceItem(source="input", text=clip(quote), span_id=self.input_span_id(), start=start, end=end,
                            note=note)

    def in_context(self, index: int, start: int | None = None, end: int | None = None,
                   note: str | None = None) -> EvidenceItem:
        text = self.context[index]
        quote = text[start:end] if start is not None else text
        return EvidenceItem(source="context", text=clip(quote), span_id=self.context_span_id(index), index=index,
                            start=start, end=end, note=note)

    def in_tool(self, index: int, source: str = "tool_call", text: str | None = None,
                note: str | None = None) -> EvidenceItem:
        call = self.tool_calls[index]
        if text is None:
            text = call.output if source == "tool_output" else f"{call.name}({_arguments_text(call.arguments)})"
        span_id = call.span_id or self.request_span_id(call)
        return EvidenceItem(source=source, text=clip(text or ""), span_id=span_id, index=index, note=note)

    def request_span_id(self, call: ToolCall) -> str | None:
        """The LLM call that asked for ``call`` (trace mode), when known."""
        explicit = getattr(call, "request_span_id", None)
        if explicit:
            return str(explicit)
        if call.id:
            for llm in self.llm_calls:
                if call.id in (llm.get("tool_call_ids") or []):
                    return llm.get("span_id")
        return None

    def tool_evidence(self, index: int, source: str = "tool_call", text: str | None = None,
                      note: str | None = None) -> list[EvidenceItem]:
        """Evidence on a tool call: its execution span, plus the LLM call that requested it when known."""
        items = [self.in_tool(index, source, text, note)]
        requested_by = self.request_span_id(self.tool_calls[index])
        if requested_by and requested_by != items[0].span_id:
            items.append(EvidenceItem(source="span", text=clip(f"requested {self.tool_calls[index].name}"),
                                      span_id=requested_by, index=index, note="the LLM call that requested it"))
        return items

    def llm_children(self, span_id: str | None) -> list[dict[str, Any]]:
        """LLM calls whose parent is ``span_id`` (e.g. the call that wrote an agent step's code)."""
        return [c for c in self.llm_calls if span_id and c.get("parent_span_id") == span_id]

    def in_span(self, span_id: str | None, text: str | None, note: str | None = None) -> EvidenceItem:
        return EvidenceItem(source="span", text=clip(text or ""), span_id=span_id, note=note)


def _arguments_text(arguments: Any) -> str:
    if isinstance(arguments, str):
        return arguments
    try:
        return json.dumps(arguments, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return repr(arguments)


def finding(subcategory_id: str, decision: Decision, confidence: float, rationale: str,
            evidence: list[EvidenceItem], detector: str, severity_adjustment: float = 0.0) -> Finding:
    """A deterministic :class:`Finding` with the confidence clamped to 0-1."""
    confidence = round(min(1.0, max(0.0, confidence)), 3)
    return Finding(subcategory_id=subcategory_id, decision=decision, confidence=confidence,
                   rationale=rationale, evidence=evidence, detector=detector, detector_type="deterministic",
                   severity_adjustment=max(-2.0, min(2.0, severity_adjustment)))
