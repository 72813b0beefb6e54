"""Instruction compliance: format and length constraints, refusals, language, topicality."""

from __future__ import annotations

import json
import re
from typing import Any

from valiqor_trace.analyzer.fa.detectors.base import CheckResult, Detector, ItemView, finding
from valiqor_trace.analyzer.fa.jsonschema_lite import validate
from valiqor_trace.analyzer.fa.lang import NAMES, detect_language
from valiqor_trace.analyzer.models import TraceFacts
from valiqor_trace.analyzer.fa.text import FoldedPattern, content_terms, lowered, may_contain, sentences

_JSON_REQUEST = re.compile(
    r"\b(?:respond|reply|answer|return|output|format(?:ted)?|give|provide|produce|write)\b[^.\n]{0,60}?"
    r"\b(?:in|as|with|using|into)\s+(?:valid\s+|a\s+|an\s+|only\s+|strict\s+|raw\s+|proper\s+)*json\b|"
    r"\bjson (?:format|object|only)\b|\bonly (?:valid )?json\b|\bvalid json\b",
    re.IGNORECASE,
)
# Case-insensitive scans of the (often long) input run folded (text.FoldedPattern), and only when the
# input holds the word every match contains.
_WORD_LIMIT = FoldedPattern(
    r"\b(?:in|within|under|at most|no more than|not more than|less than|fewer than|maximum of|max\.?|up to)\s+"
    r"(\d{1,4})\s+words?\b")
_SENTENCE_LIMIT = FoldedPattern(r"\bin (?:a single|one|(\d|two|three)) sentences?\b")
_YES_NO = FoldedPattern(r"\b(?:answer|respond|reply)(?: only)?(?: with)? (?:a )?[\"']?yes[\"']? or [\"']?no[\"']?")
_FENCE = re.compile(r"^\s*```(?:json|JSON)?\s*\n(.*?)\n\s*```\s*$", re.DOTALL)
_SMALL_NUMBERS = {"two": 2, "three": 3}

REFUSAL = FoldedPattern(
    r"\b(?:i(?:'m| am)? (?:sorry|afraid)[^.]{0,60}?(?:can(?:no|')t|unable|not able)|"
    r"i (?:can(?:no|')t|am unable to|'m unable to|am not able to|won't|will not|must decline to) "
    r"(?:help|assist|provide|answer|comply|do that|fulfil+|support|share|create|write|discuss|engage)|"
    r"as an ai(?: language model)?,? i (?:can(?:no|')t|don't|do not|am not)|"
    r"i'?m not (?:able|allowed|permitted) to (?:help|assist|provide|answer|share|discuss))",
)
# Every REFUSAL match contains one of these.
_REFUSAL_HINTS = ("sorry", "afraid", "cannot", "can't", "unable", "not able", "won't", "will not", "decline",
                  "as an ai", "not allowed", "not permitted")
# Requests where a refusal may well be right: the refusal detector stays silent on them.
RISKY_REQUEST = re.compile(
    r"\b(?:weapons?|bombs?|explosives?|kill(?:ing)?|murder|suicide|self[- ]harm|hack(?:ing)?|malware|ransomware|"
    r"exploit|phishing|meth(?:amphetamine)?|cocaine|heroin|porn\w*|nude|terror\w*|steal(?:ing)?|poison\w*|guns?|"
    r"firearms?|jailbreak|bypass|password|credit card numbers?|social security|dox\w*|launder\w*|counterfeit)\b",
    re.IGNORECASE,
)
_LANGUAGE_REQUEST = re.compile(
    r"\b(?:translat\w*|in (?:english|spanish|french|german|italian|portuguese|dutch|russian|greek|arabic|hebrew|"
    r"hindi|korean|thai|japanese|chinese|mandarin)|en español|auf deutsch|en français|in italiano|em português)\b",
    re.IGNORECASE,
)


def _requested_format(view: ItemView) -> tuple[str, dict[str, Any] | None, str] | None:
    """(kind, schema, where) of a JSON request, from the API's response_format or the prompt."""
    fmt = view.fact(TraceFacts.RESPONSE_FORMAT)
    if isinstance(fmt, str):
        try:
            fmt = json.loads(fmt)
        except ValueError:
            fmt = {"type": fmt}
    if isinstance(fmt, dict):
        kind = str(fmt.get("type", "")).lower()
        if kind in ("json_object", "json_schema", "json"):
            nested = fmt.get("json_schema")
            spec = nested if isinstance(nested, dict) else fmt
            schema = spec.get("schema") if isinstance(spec.get("schema"), dict) else None
            return "json", schema, "response_format"
    for text in (view.input, view.system_prompt):
        if "json" in lowered(text) and _JSON_REQUEST.search(text):
            return "json", None, "prompt"
    return None


def _parse_json_output(text: str) -> tuple[Any, str | None]:
    fenced = _FENCE.match(text)
    candidate = fenced.group(1) if fenced else text.strip()
    try:
        return json.loads(candidate), None
    except json.JSONDecodeError as exc:
        return None, f"{exc.msg} at position {exc.pos}"
    except ValueError as exc:  # valid syntax Python cannot read: an integer over sys.get_int_max_str_digits()
        return None, str(exc)


def check_format(view: ItemView) -> CheckResult:
    findings = []
    requested = _requested_format(view)
    if requested is not None:
        _, schema, where = requested
        value, error = _parse_json_output(view.output)
        if error is not None:
            findings.append(finding("format_violation", "fail", 0.9,
                                    f"JSON was requested ({where}) but the output is not valid JSON: {error}.",
                                    [view.in_output(text=view.output[:200], note=f"requested by {where}")],
                                    "format_check"))
        elif schema is not None:
            problems = validate(value, schema)
            if problems:
                findings.append(finding("format_violation", "fail", 0.9,
                                        "The JSON output does not match the requested schema: "
                                        + "; ".join(problems[:3]), [view.in_output(text=view.output[:200])],
                                        "format_check"))
    constraints = _length_findings(view)
    if requested is None and constraints is None:
        return None
    return findings + (constraints or [])


def _length_findings(view: ItemView) -> list | None:
    found = []
    checked = False
    text = view.input
    folded = lowered(text)
    if " word" not in folded and "sentence" not in folded and "yes" not in folded:
        return None
    limit = _WORD_LIMIT.search(text, folded) if may_contain(text, folded, ("word",)) else None
    if limit:
        checked = True
        allowed, used = int(limit.group(1)), len(view.output.split())
        if used > allowed * 1.1 + 3:
            over = used / max(1, allowed)
            found.append(finding("format_violation", "fail" if over >= 1.5 else "unsure", 0.8 if over >= 1.5 else 0.5,
                                 f"The answer has {used} words; the request allowed {allowed}.",
                                 [view.in_input(limit.start(), limit.end()), view.in_output(text=view.output[:120])],
                                 "format_check", severity_adjustment=-1.0))
    limit = _SENTENCE_LIMIT.search(text, folded) if may_contain(text, folded, ("sentence",)) else None
    if limit:
        checked = True
        word = (limit.group(1) or "1").lower()  # lower-cased either way
        allowed = int(word) if word.isdigit() else _SMALL_NUMBERS.get(word, 1)
        used = sum(1 for _ in sentences(view.output))
        if used > allowed + 1:
            found.append(finding("format_violation", "unsure", 0.5,
                                 f"The answer has {used} sentences; the request asked for {allowed}.",
                                 [view.in_input(limit.start(), limit.end())], "format_check", severity_adjustment=-1.0))
    if may_contain(text, folded, ("yes",)) and _YES_NO.search(text, folded):
        checked = True
        head = view.output.strip().lstrip("*_\"' ").lower()
        if not head.startswith(("yes", "no")):
            found.append(finding("format_violation", "fail", 0.7,
                                 "A yes/no answer was requested; the answer is neither.",
                                 [view.in_output(0, min(len(view.output), 80))], "format_check"))
    return found if checked else None


def check_refusal(view: ItemView) -> CheckResult:
    head = view.output[:400]
    folded = head.lower()
    match = REFUSAL.search(head, folded) if may_contain(head, folded, _REFUSAL_HINTS) else None
    if match is None:
        return []
    if RISKY_REQUEST.search(view.input):
        return []  # a refusal may be warranted; the judge decides
    return [finding("unwarranted_refusal", "fail", 0.6,
                    "The model refused a request that contains nothing a policy would normally refuse.",
                    [view.in_output(match.start(), match.end()), view.in_input()], "refusal_check")]


def check_language(view: ItemView) -> CheckResult:
    asked, asked_conf = detect_language(view.input)
    if asked is None:
        return None  # without the request's language there is nothing to compare the answer with
    answered, answered_conf = detect_language(view.output)
    if answered is None:
        return None
    if asked == answered or _LANGUAGE_REQUEST.search(view.input) or _LANGUAGE_REQUEST.search(view.system_prompt):
        return []
    confidence = min(0.9, 0.5 + (asked_conf + answered_conf) / 4)
    return [finding("language_mismatch", "fail", confidence,
                    f"The request is in {NAMES[asked]} but the answer is in {NAMES[answered]}.",
                    [view.in_input(note=NAMES[asked]), view.in_output(note=NAMES[answered])], "language_check")]


def check_off_topic(view: ItemView) -> CheckResult:
    asked = content_terms(view.input)
    answer = content_terms(view.output)
    if len(asked) < 3 or len(answer) < 15:
        return None
    if asked & answer:
        return []
    if view.context and content_terms(" ".join(view.context[:10])) & answer:
        return []
    return [finding("off_topic", "unsure", 0.45,
                    "The answer shares no content word with the request (or the context).",
                    [view.in_input(), view.in_output()], "topic_check")]


DETECTORS = (
    Detector("format_check", ("format_violation",), check_format, pass_confidence=0.9),
    Detector("refusal_check", ("unwarranted_refusal",), check_refusal, pass_confidence=0.7),
    Detector("language_check", ("language_mismatch",), check_language, pass_confidence=0.8),
    Detector("topic_check", ("off_topic",), check_off_topic, pass_confidence=0.5),
)
