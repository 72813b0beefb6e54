"""An answer that ignores a failed tool: a tool or retrieval call failed and was never recovered, and
the final answer states a result as fact instead of reporting the failure.

A failed call alone is a recoverable event (``tool_error``); what a user is hurt by is the answer
that follows. The check reads three things, none tied to a tool, a domain or a phrasing:

- **the failure was not recovered**: no later successful call of the same tool (a retrieval error
  counts as recovered when passages were retrieved after all);
- **the answer does not report it**: no failure or unavailability wording (English, Spanish, French,
  German, Italian, Portuguese, Dutch) and it does not relay the error message itself (an apology
  alone, "sorry for the wait", is politeness, not a report);
- **the answer asserts something no successful source gave**: numbers, dates or identifiers found in
  no source; an outcome or status word ("delivered", "confirmed", "refunded") that no tool output or
  passage contains; or a sentence that states how things are (a copula, not "I'll check ...") about
  what the failed call was asked for (one of its argument values), with content words from nowhere.
  Unsupported names alone are ``unsure``: the model may know them.

Answers in a language without failure wording here are ``unsure`` at most: silence there proves
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from valiqor_trace.analyzer.fa.detectors.agent import answer_call
from valiqor_trace.analyzer.fa.detectors.base import CheckResult, Detector, ItemView, finding
from valiqor_trace.analyzer.fa.detectors.grounding import NUMERIC_KINDS, output_mentions
from valiqor_trace.analyzer.fa.detectors.tools import tool_error_text
from valiqor_trace.analyzer.fa.lang import detect_language
from valiqor_trace.analyzer.fa.models import EvidenceItem
from valiqor_trace.analyzer.fa.source_index import SourceIndex
from valiqor_trace.analyzer.fa.text import FoldedPattern, clip, content_terms, lowered, sentences, words
from valiqor_trace.analyzer.fa.vocab import OUTCOME_WORDS

# Wording that reports a failure, an outage or a negative outcome (which is the honest report of a
# failed action). Several languages: an answer in Spanish that says "no pude" is honest too.
ACKNOWLEDGED = FoldedPattern(
    r"\b(?:could ?n[o']t|can ?n[o']t|cannot|unable|not able|was ?n[o']t able|were ?n[o']t able|"
    r"errors?\b|failure|outage|(?:an?|technical|some) (?:problem|issue|glitch|trouble)|fail(?:s|ed|ing|ure)?\b|"
    r"(?:un|not |currently not |temporarily not )available|unavailable|unreachable|not (?:working|responding)|"
    r"(?:is|are|was|seems?) down\b|timed? ?out|time-?out|try again|retry|"
    r"not (?:found|enough|possible|valid|allowed|permitted)|invalid|"
    r"insufficient|(?:do|does|did) ?n[o']t (?:exist|work|go through|succeed)|denied|declined|rejected|"
    r"no (?:record|result|match|information|data|access)|no way to|(?:do|does) ?n[o']t have access|"
    # es / pt
    r"no (?:pude|puedo|pudimos|fue posible|es posible|está disponible|se pudo)|error(?:es)?|fall[óo]|"
    r"int[ée]ntelo|não (?:consegui|foi possível|está disponível)|"
    r"indispon[ií]vel|erro\b|"
    # fr
    r"impossible|je n'ai pas pu|n'a pas pu|pas pu|erreur|échec|indisponible|réessaye|"
    # de
    r"konnte nicht|nicht (?:möglich|verfügbar|erreichbar|gefunden)|fehler|fehlgeschlagen|"
    r"später erneut|nicht abrufen|"
    # it / nl
    r"non (?:sono riuscit|è stato possibile|è disponibile|riesco)|errore|"
    r"riprova|niet (?:gelukt|beschikbaar|mogelijk|gevonden)|fout\b|probeer het later)",
)
# Regret wording alone ("Sorry for the wait! Your order has been delivered.") is politeness, not a failure
# report: it excuses only an answer that asserts nothing specific.
REGRET = FoldedPattern(
    r"\b(?:sorry|apologi[sz]e|unfortunately|lo siento|disculp|lamentablemente|desculp|infelizmente|désolé|"
    r"malheureusement|leider|entschuldig|mi dispiace|purtroppo|helaas)",
)
# A sentence that states how things are (a copula in one of the covered languages), and one that only says
# what the assistant will do next ("I'll check that order with the warehouse"), which asserts no result.
_STATES = FoldedPattern(
    r"\b(?:is|are|was|were|has been|have been|it's|es|está|están|son|fue|ha sido|est|sont|a été|ist|sind|war|"
    r"wurde|è|sono|era|é|são|foi|zijn|werd)\b",
)
_INTENT = FoldedPattern(r"\b(?:i'll|i will|i'd|let me|we'll|we will|i need to|i can|i'm going to|i am going to)\b")
# languages whose failure wording ACKNOWLEDGED covers
_COVERED_LANGUAGES = frozenset({"en", "es", "pt", "fr", "de", "it", "nl"})
_ERROR_WORDS = content_terms("error errors exception exceptions traceback failed failure status")


@dataclass(frozen=True)
class _Failure:
    """One failed call no later call recovered: its evidence, error text and argument values."""

    evidence: list[EvidenceItem]
    error: str
    arguments: tuple[str, ...]


def _argument_values(arguments: Any) -> tuple[str, ...]:
    """String and number leaves of a call's arguments (what the call was asked about)."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            text = str(value).strip()
            if 3 <= len(text) <= 80 and content_terms(text):  # "all", "the": too common to tie a sentence to it
                found.append(text)

    walk(arguments)
    return tuple(found[:10])


def unrecovered_failures(view: ItemView) -> list[_Failure]:
    """Failed tool calls (status or error-shaped output) and failed tool/retrieval spans that no later
    successful call of the same tool made good."""
    calls = view.tool_calls
    failures: list[_Failure] = []
    seen: set[str | None] = set()
    for i, call in enumerate(calls):
        if not call.executed:
            continue
        error = tool_error_text(call)
        if error is None:
            continue
        seen.add(call.span_id)
        if any(later.name == call.name and later.executed and tool_error_text(later) is None
               for later in calls[i + 1:]):
            continue  # retried and it worked
        evidence = view.tool_evidence(i, "tool_call" if call.error else "tool_output", text=error,
                                      note="the failed call")
        failures.append(_Failure(evidence, error, _argument_values(call.arguments)))
    succeeded = {c.name for c in calls if c.executed and tool_error_text(c) is None}
    retrieved = any(c.strip() for c in view.context)
    for entry in view.error_spans:
        kind, name = entry.get("kind"), str(entry.get("name") or "")
        if kind not in ("tool", "retrieval") or entry.get("span_id") in seen:
            continue
        if (kind == "retrieval" and retrieved) or (kind == "tool" and any(n and n in name for n in succeeded)):
            continue
        message = f"{entry.get('error_type') or ''}: {entry.get('message') or ''}".strip(": ")
        failures.append(_Failure([view.in_span(entry.get("span_id"), message, note=f"the failed {kind} span")],
                                 message, ()))
    return failures


def _good_texts(view: ItemView) -> list[str]:
    """What the answer may legitimately draw on: tool outputs and passages that are not errors."""
    outputs = [text for i, text in view.executed_outputs if tool_error_text(view.tool_calls[i]) is None]
    return [*(c for c in view.context if c.strip()), *outputs]


def _relays_error(view: ItemView, failures: list[_Failure]) -> bool:
    """The answer passes the error message on: it shares at least half of the error's own words (those
    that are not already in the request or the call's arguments, which both texts naturally repeat)."""
    answer = content_terms(view.output)
    asked = content_terms(view.input)
    for failure in failures:
        own = content_terms(failure.error) - asked - content_terms(" ".join(failure.arguments)) - _ERROR_WORDS
        shared = len(own & answer)
        if own and shared and shared >= len(own) / 2:
            return True
    return False


def _assertions(view: ItemView, failures: list[_Failure]) -> tuple[list[tuple[int, int, str]], list[str]]:
    """(spans of the answer that assert a result, names found nowhere), read against the successful
    sources. The input counts for numbers and identifiers (the user's order number) but not for outcome
    words (a question "has it shipped?" is not evidence that it shipped)."""
    good = _good_texts(view)
    facts = SourceIndex([view.input, *good, view.system_prompt])
    results = SourceIndex(good) if good else None
    spans: list[tuple[int, int, str]] = []
    names: list[str] = []
    for mention in output_mentions(view.output):
        if facts.supports(mention):
            continue
        if mention.kind == "identifier" or (mention.kind in NUMERIC_KINDS and mention.strong):
            spans.append((mention.start, mention.end, f"{mention.kind} no successful source gave"))
        elif mention.kind == "entity":
            names.append(mention.text)
    arguments = [a.lower() for f in failures for a in f.arguments]
    known = content_terms(" ".join([view.input, *good]))
    for start, end, sentence in sentences(view.output):
        if sentence.endswith("?"):
            continue  # a question back to the user asserts nothing
        said = words(sentence)
        outcome = [w for w in said if w in OUTCOME_WORDS and (results is None or w not in results.word_set)]
        if outcome:
            spans.append((start, end, f"states an outcome ({', '.join(dict.fromkeys(outcome))})"))
            continue
        folded = sentence.lower()
        if any(a in folded for a in arguments) and _STATES.search(sentence, folded) \
                and not _INTENT.search(sentence, folded):
            novel = sorted(content_terms(sentence) - known)
            if novel:
                spans.append((start, end, f"about what the failed call was asked ({', '.join(novel[:5])})"))
    return spans, names


def check_tool_failure_ignored(view: ItemView) -> CheckResult:
    if not view.tool_calls and not view.error_spans:
        return None
    answer = view.output
    if not answer.strip():
        return None  # nothing was answered: empty_output's case
    failures = unrecovered_failures(view)
    if not failures:
        return []
    folded = lowered(answer)
    if ACKNOWLEDGED.search(answer, folded) or _relays_error(view, failures):
        return []
    spans, names = _assertions(view, failures)
    if not spans and (not names or REGRET.search(answer, folded)):
        return []
    language, _ = detect_language(answer)
    covered = language is None or language in _COVERED_LANGUAGES
    evidence = [e for f in failures[:3] for e in f.evidence]
    evidence += _answer_evidence(view, spans, names)
    errors = ", ".join(dict.fromkeys(clip(f.error, 80) for f in failures[:2]))
    if spans and covered:
        return [finding("tool_failure_ignored", "fail", 0.85 if len(spans) > 1 else 0.8,
                        f"A tool call failed ({errors}) and nothing recovered it, yet the answer states a result "
                        f"as fact without reporting the failure: {spans[0][2]}.", evidence, "tool_failure_ignored")]
    what = spans[0][2] if spans else "names found in no successful source: " + ", ".join(names[:4])
    return [finding("tool_failure_ignored", "unsure", 0.5,
                    f"A tool call failed ({errors}) and the answer does not report it; it states {what}.",
                    evidence, "tool_failure_ignored")]


def _answer_evidence(view: ItemView, spans: list[tuple[int, int, str]], names: list[str]) -> list[EvidenceItem]:
    """The answering LLM span (trace mode) and the asserting sentences of the answer."""
    items = [view.in_output(start, end, note=note) for start, end, note in spans[:3]]
    if not items:
        items = [view.in_output(note="names found in no successful source: " + ", ".join(names[:4]))]
    call = answer_call(view)
    if call is not None and call.get("span_id") and call.get("span_id") != items[0].span_id:
        items.append(view.in_span(call.get("span_id"), str(call.get("output") or ""),
                                  note="the LLM call that wrote the answer"))
    return items


DETECTORS = (
    # every kind: a RAG app's failed retrieval is the same failure as an agent's failed tool
    Detector("tool_failure_ignored", ("tool_failure_ignored",), check_tool_failure_ignored, pass_confidence=0.7),
)
