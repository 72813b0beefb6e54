"""Retrieval failures: nothing retrieved, retriever errors, off-target or unused passages."""

from __future__ import annotations

import re

from valiqor_trace.analyzer.fa.detectors.base import CheckResult, Detector, ItemView, finding
from valiqor_trace.analyzer.fa.models import Finding
from valiqor_trace.analyzer.fa.text import FoldedPattern, content_terms, lowered, may_contain

RAG_KINDS = ("rag", "agentic_rag")
ABSTENTION = FoldedPattern(
    r"\b(?:unable to answer|cannot answer|can't answer|(?:do|does|did)(?: not|n't) (?:contain|mention|provide|include|"
    r"say|specify|cover)|no (?:relevant )?information (?:about|on|regarding|is (?:provided|available))|"
    r"(?:is|are) not (?:mentioned|provided|specified|included|covered)|i (?:do not|don't) (?:know|have (?:enough )?"
    r"information)|not enough information|insufficient information)\b",
)
# Every ABSTENTION match contains one of these (a substring test is far cheaper than the regex, and these are
# specific enough that most answers hold none: "t " is the end of "not"/"n't" before the verb).
_ABSTENTION_HINTS = ("to answer", "t answer", "information", "t contain", "t mention", "t provide", "t include",
                     "t say", "t specif", "t cover", "i do not", "i don't")
_SEARCH_TOOL = re.compile(r"search|retriev|lookup|look_up|query|find|knowledge|docs?\b|documents?|rag", re.IGNORECASE)
_NO_RESULTS = re.compile(r"^\s*(?:\[\s*\]|\{\s*\}|null|none|no (?:results?|documents?|matches|hits)(?: found)?\b.*|"
                         r"0 results?\b.*|nothing found\b.*)\s*$", re.IGNORECASE | re.DOTALL)


def _question_terms(view: ItemView) -> set[str]:
    return view.memo("question_terms", lambda: content_terms(view.input))


def _chunk_terms(view: ItemView) -> list[set[str]]:
    return view.memo("chunk_terms", lambda: [content_terms(c) for c in view.context])


def question_coverage(view: ItemView) -> list[float]:
    """Per context entry: share of the question's content terms it contains."""
    asked = _question_terms(view)
    if not asked:
        return []
    return [len(asked & terms) / len(asked) for terms in _chunk_terms(view)]


def check_empty_retrieval(view: ItemView) -> CheckResult:
    findings: list[Finding] = []
    if not any(c.strip() for c in view.context) and not view.tool_calls:
        note = "no passages" if not view.context else "only blank passages"
        findings.append(finding("empty_retrieval", "fail", 0.9, f"Retrieval returned nothing ({note}).",
                                [view.in_output(note=note, text="(no context)")], "empty_retrieval"))
    for i, call in enumerate(view.tool_calls):
        if call.executed and not call.error and _SEARCH_TOOL.search(call.name) and call.output is not None \
                and (not call.output.strip() or _NO_RESULTS.match(call.output[:200])):
            findings.append(finding("empty_retrieval", "fail", 0.8, f"Search tool {call.name!r} returned no results.",
                                    [view.in_tool(i, "tool_output", text=call.output or "(empty)")], "empty_retrieval"))
    return findings


def check_retrieval_error(view: ItemView) -> CheckResult:
    return [
        finding("retrieval_error", "fail", 0.95,
                f"Retrieval span {e.get('name')!r} failed: {(e.get('message') or e.get('error_type') or '')[:200]}",
                [view.in_span(e.get("span_id"), e.get("message") or e.get("error_type"), note="error status")],
                "retrieval_error")
        for e in view.error_spans
        if e.get("kind") in ("retrieval", "embedding")
    ]


def check_context_relevance(view: ItemView) -> CheckResult:
    coverage = question_coverage(view)
    if not coverage or len(_question_terms(view)) < 2:
        return None
    if max(coverage) > 0:
        return []
    many = len(_question_terms(view)) >= 4
    return [finding("irrelevant_context", "fail" if many else "unsure", 0.6 if many else 0.5,
                    f"None of the {len(coverage)} retrieved passages shares a content word with the question.",
                    [view.in_input(), *(view.in_context(i) for i in range(min(3, len(coverage))))],
                    "context_relevance")]


def check_context_use(view: ItemView) -> CheckResult:
    """Abstention on missing context, or an answer that does not use relevant context."""
    if not any(c.strip() for c in view.context) or not view.output.strip():
        return None
    coverage = max(question_coverage(view) or [0.0])
    folded = lowered(view.output)
    abstained = ABSTENTION.search(view.output, folded) if may_contain(view.output, folded, _ABSTENTION_HINTS) else None
    if abstained:
        if coverage < 0.3:
            return [finding("missing_context", "fail", 0.6,
                            f"The answer says the information is missing, and the passages cover only {coverage:.0%} "
                            "of the question's terms.", [view.in_output(abstained.start(), abstained.end())],
                            "context_use")]
        if coverage >= 0.6:
            return [finding("context_ignored", "unsure", 0.5,
                            f"The answer abstains although a passage covers {coverage:.0%} of the question's terms.",
                            [view.in_output(abstained.start(), abstained.end())], "context_use")]
        return []
    answer = content_terms(view.output)
    if len(answer) < 4:
        return []
    context_terms = set().union(*_chunk_terms(view))
    used = len(answer & context_terms) / len(answer)
    if used >= 0.15:
        return []
    relevant = coverage >= 0.3
    return [finding("context_ignored", "fail" if relevant else "unsure", 0.6 if relevant else 0.45,
                    f"Only {used:.0%} of the answer's content words come from the retrieved passages.",
                    [view.in_output(), view.in_context(0)], "context_use")]


def check_redundant_context(view: ItemView) -> CheckResult:
    if len(view.context) < 2:
        return None if not view.context else []
    seen: dict[str, int] = {}
    duplicates = []
    for i, text in enumerate(view.context):
        key = " ".join(text.lower().split())  # case- and whitespace-insensitive; cheap on long passages
        if not key:
            continue
        if key in seen:
            duplicates.append((seen[key], i))
        else:
            seen[key] = i
    if not duplicates:
        return []
    return [finding("redundant_context", "fail", 0.9,
                    f"{len(duplicates)} retrieved passage(s) are duplicates of earlier ones.",
                    [view.in_context(i, note=f"duplicate of passage {first}") for first, i in duplicates[:5]],
                    "redundant_context")]


DETECTORS = (
    Detector("empty_retrieval", ("empty_retrieval",), check_empty_retrieval, feature_kinds=RAG_KINDS,
             pass_confidence=0.95),
    Detector("retrieval_error", ("retrieval_error",), check_retrieval_error, feature_kinds=RAG_KINDS,
             needs_trace=True, pass_confidence=0.95),
    Detector("context_relevance", ("irrelevant_context",), check_context_relevance, feature_kinds=RAG_KINDS,
             pass_confidence=0.6),
    Detector("context_use", ("missing_context", "context_ignored"), check_context_use, feature_kinds=RAG_KINDS,
             pass_confidence=0.55),
    Detector("redundant_context", ("redundant_context",), check_redundant_context, feature_kinds=RAG_KINDS,
             pass_confidence=0.95),
)
