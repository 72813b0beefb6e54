"""What the model says about its own evidence: assumptions and placeholders in place of facts,
and searches or tool results it claims but never ran.

Both read the final answer and, in trace mode, every LLM call's text (an agent's
"Thought:" is where it says "the phrase is assumed to be..." or "based on a careful search"),
so evidence points at the exact call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from valiqor_trace.analyzer.fa.detectors.agent import ANSWER_TOOLS
from valiqor_trace.analyzer.fa.detectors.base import CheckResult, Detector, ItemView, finding
from valiqor_trace.analyzer.fa.models import EvidenceItem
from valiqor_trace.analyzer.fa.text import FoldedPattern, lowered

SPECULATION = FoldedPattern(
    r"\b(?:(?:is|are|be|was|were) assumed(?: to be)?|i(?:'ll| will| shall)? assume|let(?:'s| us) assume|"
    r"assuming (?:that )?(?:the|it|this|these|a|two|one)\b|placeholder|hypothetical(?:ly)?|"
    r"simulat(?:e|ed|ing) (?:the )?(?:data|results?|outputs?|responses?|values?|search)|"
    r"(?:dummy|mock|fake|made[- ]up|invented) (?:data|values?|results?|numbers?)|"
    r"for (?:the sake of )?(?:illustration|demonstration)(?: purposes)?|"
    r"(?:common|general) knowledge|known facts|from memory|i (?:recall|remember)|if i remember correctly|"
    r"to the best of my knowledge|without (?:actually )?(?:access(?:ing)?|browsing|searching|watching|running)|"
    r"i (?:can(?:no|')t|am unable to|don't have the ability to) (?:browse|access|watch|view|open|run))\b",
)
TOOL_CLAIM = FoldedPattern(
    r"\b(?:i|we)(?:'ve| have)? (?:searched|looked (?:it )?up|browsed|googled|queried|visited|"
    r"checked (?:online|the web|the internet|the database|the website)|ran (?:the|a) (?:search|query|tool)|"
    r"(?:used|called|invoked) (?:the|our|a|my) [\w-]+ (?:tool|agent|api))\b|"
    r"\b(?:based on|after|from|per|via|through|according to) (?:a |my |our |the )?(?:careful |thorough |quick |"
    r"detailed |web |online |internet |extensive )*(?:search(?:es)?|research|look-?up|browsing|investigation|"
    r"cross[- ]check\w*|cross[- ]referenc\w*|tool (?:output|results?))\b|"
    r"\bcross[- ]referenc\w+\b[^.]{0,80}?\b(?:indicate|show|confirm)\w*|"
    r"\bsearch results? (?:show|indicate|confirm|suggest)\w*",
)


def _texts(view: ItemView) -> Iterator[tuple[str, Callable[..., EvidenceItem]]]:
    """(text, evidence factory) for the answer and, in trace mode, each LLM call's output."""
    yield view.output, lambda s, e, note: view.in_output(s, e, note=note)
    for call in view.llm_calls:
        text = str(call.get("output") or "")
        if text:
            yield text, (lambda s, e, note, text=text, span=call.get("span_id"):
                         view.in_span(span, text[max(0, s - 60):e + 60], note=note))


# Substrings every match of the patterns above contains: cheap tests that keep the regexes off
# the answers (nearly all) that contain none of them.
_SPECULATION_HINTS = ("assum", "placeholder", "hypothetic", "simulat", "dummy", "mock", "fake", "made", "invented",
                      "illustration", "demonstration", "knowledge", "known facts", "memory", "recall", "remember",
                      "without", "can't", "cannot", "unable", "don't have")
_CLAIM_HINTS = ("search", "look", "brows", "googled", "quer", "visited", "checked", "ran ", "used ", "called",
                "invoked", "research", "investigation", "cross")


def _scan(view: ItemView, pattern: FoldedPattern, label: str, hints: tuple[str, ...]) -> list[EvidenceItem]:
    evidence = []
    for text, make in _texts(view):
        folded = lowered(text)
        if not any(h in folded for h in hints):
            continue
        match = pattern.search(text, folded)
        if match:  # the match may be on the lower-cased text: quote the original
            evidence.append(make(match.start(), match.end(), f"{label}: {text[match.start():match.end()]!r}"))
    return evidence


def check_speculation(view: ItemView) -> CheckResult:
    evidence = _scan(view, SPECULATION, "speculation marker", _SPECULATION_HINTS)
    if not evidence:
        return []
    return [finding("speculative_answer", "fail", 0.6,
                    "The answer (or a step leading to it) rests on an explicit assumption, placeholder or "
                    "recalled knowledge rather than evidence.", evidence[:5], "speculation_scan")]


def check_fabricated_tool_use(view: ItemView) -> CheckResult:
    used = [c for c in view.tool_calls if c.executed and not ANSWER_TOOLS.search(c.name)]
    if used or any(c.strip() for c in view.context):
        return []  # something was searched or retrieved: the claim may be true
    evidence = _scan(view, TOOL_CLAIM, "claimed tool use", _CLAIM_HINTS)
    if not evidence:
        return []
    return [finding("fabricated_tool_use", "fail", 0.7,
                    "The answer claims a search, lookup or tool use, but no tool ran and nothing was retrieved.",
                    evidence[:5], "tool_claim_scan")]


DETECTORS = (
    Detector("speculation_scan", ("speculative_answer",), check_speculation, pass_confidence=0.6),
    Detector("tool_claim_scan", ("fabricated_tool_use",), check_fabricated_tool_use, pass_confidence=0.7),
)
