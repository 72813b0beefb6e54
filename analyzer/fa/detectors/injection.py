"""Prompt injection: instructions aimed at the model, in the user input (direct) or in
retrieved documents and tool outputs (indirect).

Patterns follow the families catalogued by OWASP LLM01 and public injection corpora:
instruction override ("ignore previous instructions"), persona/jailbreak switches
("you are now DAN", "developer mode"), prompt extraction ("reveal your system prompt"),
fake role delimiters (``<|im_start|>system``, ``### System:``), and exfiltration requests.
Indirect injection adds text that addresses "the AI"/"the assistant" from inside data and
invisible characters used to hide instructions.
"""

from __future__ import annotations

import re

from analyzer.fa.detectors.base import CheckResult, Detector, ItemView, finding
from analyzer.fa.models import EvidenceItem

_STRONG = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass|skip)\b[^.\n]{0,30}?\b(?:all |any |the |your |my |these |those )?"
    r"(?:previous|prior|above|earlier|preceding|original|initial|system|existing)\b[^.\n]{0,20}?"
    r"\b(?:instructions?|prompts?|rules|directions|guidelines|directives|constraints|context)\b|"
    r"\byou are now\b[^.\n]{0,40}?\b(?:dan|jailbroken|unrestricted|unfiltered|uncensored|in developer mode|free from)\b|"
    r"\b(?:developer|god|dan|jailbreak) mode\b|\bdo anything now\b|"
    r"\b(?:reveal|print|show|display|repeat|output|leak|tell me|give me|what (?:is|are))\b[^.\n]{0,20}?\b"
    r"(?:your|the)\s+(?:full |entire |complete |original |hidden |secret )?(?:system prompt|system message|"
    r"initial instructions|hidden instructions|instructions above|developer message)|"
    r"<\|im_start\|>\s*system|\[/?INST\]|<\s*/?\s*system\s*>|^#{2,}\s*(?:system|new instructions?)\s*:?|"
    r"\bnew (?:system )?instructions?\s*:|\bsystem override\b",
    re.IGNORECASE | re.MULTILINE,
)
_WEAK = re.compile(
    r"\b(?:pretend|act as if|imagine) (?:you(?: are|'re)?|to be)\b[^.\n]{0,60}?\b(?:no|without|free of|any) "
    r"(?:restrictions|rules|filters|limits|guidelines|censorship)\b|"
    r"\b(?:send|forward|post|upload|exfiltrate|email)\b[^.\n]{0,40}?\b(?:conversation|chat history|user data|"
    r"credentials|api keys?|password|secrets?)\b[^.\n]{0,30}?\b(?:to|at)\b",
    re.IGNORECASE,
)
_ADDRESSED_TO_MODEL = re.compile(
    r"\b(?:(?:dear |attention[:,]? )?(?:ai|assistant|chatbot|language model|llm|gpt|claude)s?\b[,:]?\s+"
    r"(?:please\s+)?(?:ignore|disregard|you must|must now|should now|do not tell|don't tell|instead)|"
    r"if you are an? (?:ai|assistant|language model|llm)\b|instructions? (?:to|for) (?:the )?(?:ai|assistant|model)\b)",
    re.IGNORECASE,
)
_HIDDEN = re.compile("[\u200b-\u200f\u2060-\u2064\U000e0000-\U000e007f]")
_HTML_COMMENT = re.compile(r"<!--(.{0,500}?)-->", re.DOTALL)


# Every pattern above needs one of these combinations of words; checking them first (plain substring
# tests) keeps the regexes off the long documents that hold none of them, which is nearly all of them.
_PHRASES = ("system prompt", "system message", "instructions above", "hidden instructions", "initial instructions",
            "developer message", "new instructions", "system instructions", "system override", "you are now",
            " mode", "do anything now", "im_start", "[inst]", "[/inst]", "<system", "</system", "# system",
            "if you are a", "<!--")
_GROUPS = (
    (("ignore", "disregard", "forget", "override", "bypass", "skip"),
     ("instruction", "prompt", "rule", "direction", "guideline", "directive", "constraint", "context")),
    (("assistant", "chatbot", "language model", "llm", "gpt", "claude", " ai ", " ai,", " ai:", "an ai", "ais "),
     ("ignore", "disregard", "you must", "must now", "should now", "do not tell", "don't tell", "instead",
      "instruction")),
    (("pretend", "act as if", "imagine"), ("restriction", "rules", "filter", "limit", "guideline", "censor")),
    (("send", "forward", "post", "upload", "exfiltrat", "email"),
     ("conversation", "chat history", "user data", "credential", "api key", "password", "secret")),
)


def _may_inject(text: str) -> bool:
    lowered = text.lower()
    if any(p in lowered for p in _PHRASES):
        return True
    if any(any(a in lowered for a in first) and any(b in lowered for b in second) for first, second in _GROUPS):
        return True
    return bool(_HIDDEN.search(text))


def scan(text: str, *, indirect: bool = False) -> tuple[str, re.Match[str] | None, str] | None:
    """(strength, match, label) of the strongest injection signal in ``text``, or ``None``."""
    if not _may_inject(text):
        return None
    match = _STRONG.search(text)
    if match:
        return "strong", match, "instruction override"
    if indirect:
        match = _ADDRESSED_TO_MODEL.search(text)
        if match:
            return "strong", match, "text addressed to the model"
        for comment in _HTML_COMMENT.finditer(text):
            if _STRONG.search(comment.group(1)) or re.search(r"\b(?:ai|assistant|instruction)", comment.group(1), re.I):
                return "strong", comment, "instructions hidden in an HTML comment"
        hidden = _HIDDEN.findall(text)
        if len(hidden) >= 3:
            return "weak", _HIDDEN.search(text), f"{len(hidden)} invisible characters"
    match = _WEAK.search(text)
    if match:
        return "weak", match, "role-play or exfiltration request"
    return None


def check_direct_injection(view: ItemView) -> CheckResult:
    hit = scan(view.input)
    if hit is None:
        return []
    strength, match, label = hit
    start, end = (match.start(), match.end()) if match else (None, None)
    return [finding("prompt_injection", "fail" if strength == "strong" else "unsure",
                    0.85 if strength == "strong" else 0.5,
                    f"The user input tries to steer the model off its instructions ({label}).",
                    [view.in_input(start, end, note=label)], "injection_scan")]


def check_indirect_injection(view: ItemView) -> CheckResult:
    places: list[tuple[str, EvidenceItem, str]] = []
    for i, text in enumerate(view.context):
        hit = scan(text, indirect=True)
        if hit:
            strength, match, label = hit
            span = (match.start(), match.end()) if match else (None, None)
            places.append((strength, view.in_context(i, *span, note=label), label))
    for i, text in view.executed_outputs:
        hit = scan(text, indirect=True)
        if hit:
            strength, match, label = hit
            quote = text[match.start():match.end()] if match else text
            places.append((strength, view.in_tool(i, "tool_output", text=quote, note=label), label))
    if not places:
        return [] if (view.context or view.executed_outputs) else None
    strong = [p for p in places if p[0] == "strong"]
    chosen = strong or places
    return [finding("indirect_prompt_injection", "fail" if strong else "unsure", 0.85 if strong else 0.5,
                    f"Retrieved or tool-returned content carries instructions for the model ({chosen[0][2]}).",
                    [evidence for _, evidence, _ in chosen[:5]], "indirect_injection_scan", severity_adjustment=0.5 if strong else 0)]


DETECTORS = (
    Detector("injection_scan", ("prompt_injection",), check_direct_injection, pass_confidence=0.7),
    Detector("indirect_injection_scan", ("indirect_prompt_injection",), check_indirect_injection, pass_confidence=0.7),
)
