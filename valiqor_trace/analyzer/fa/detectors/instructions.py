"""Instructions the system prompt or the user gave about the response, each checked against the answer.

:mod:`valiqor_trace.analyzer.fa.instructions` finds them; here each is checked: the answer's
language, its format (list, numbered list, table, or none of those), its length (sentences,
words, bullets), what it must not mention and what it must include. A satisfied instruction
is no finding; an instruction that cannot be checked on this answer (its language not
identifiable, a conditional rule) is skipped. Every finding quotes the instruction (with its
span in trace mode) and says what the answer did.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from valiqor_trace.analyzer.fa import instructions as ins
from valiqor_trace.analyzer.fa.detectors.base import CheckResult, Detector, ItemView, finding
from valiqor_trace.analyzer.fa.detectors.compliance import _WORD_LIMIT as INPUT_WORD_LIMIT
from valiqor_trace.analyzer.fa.lang import NAMES, detect_language
from valiqor_trace.analyzer.fa.models import EvidenceItem, Finding
from valiqor_trace.analyzer.fa.text import clip, content_terms, lowered, normalize_quotes

_BULLET_LINE = re.compile(r"^[ \t]*(?:[-*•+▪‣◦]|\d{1,3}[.)]|[a-z][.)])[ \t]+\S", re.MULTILINE)
_NUMBERED_LINE = re.compile(r"^[ \t]*(?:\d{1,3}[.)]|step \d{1,3}\b)[ \t]*\S", re.MULTILINE | re.IGNORECASE)
_MARKER_LINE = re.compile(r"^[ \t]*[-*•+▪‣◦][ \t]+\S", re.MULTILINE)
_TABLE_ROW = re.compile(r"^[ \t]*\|?[^|\n]*\|[^|\n]*\|", re.MULTILINE)
_TABLE_RULE = re.compile(r"^[ \t]*\|?[ \t]*:?-{3,}:?[ \t]*\|", re.MULTILINE)
_LINK = re.compile(r"https?://|\bwww\.|\]\(", re.IGNORECASE)
_DECLINES = re.compile(r"\b(?:can(?:no|')t|unable|not able|not allowed|not permitted|won't|will not|do not discuss|"
                       r"don't discuss)\b", re.IGNORECASE)
# sentence ends: a stop then a capital or digit; not after a short abbreviation ("Dr.", "e.g.", "U.S.")
_SENTENCE_END = re.compile(r"(?<![A-Z])(?<!\b[a-z])(?<!\b(?:Dr|Mr|Ms|St|vs|No|Mt|Jr|Sr|Co))(?<!\be\.g)(?<!\bi\.e)"
                           r"(?<!\bMrs)[.!?]+[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n+")
_CAN_CHECK_FORMAT_WORDS = 12  # a shorter answer ("I don't know.") says nothing about the format asked for


def _instructions(view: ItemView) -> list[ins.Instruction]:
    """Unconditional instructions of the system prompt, then of the user turn (once per item)."""
    def compute() -> list[ins.Instruction]:
        found = [*ins.extract(view.system_prompt, "system_prompt"), *ins.extract(view.input, "input")]
        return [i for i in found if not i.conditional]
    found: list[ins.Instruction] = view.memo("instructions", compute)
    return found


def _checked(view: ItemView, kinds: tuple[str, ...]) -> CheckResult:
    found = [i for i in _instructions(view) if i.kind in kinds]
    if not found or not view.output.strip():
        return None  # no such instruction: nothing to check
    results = (_CHECKS[i.kind](view, i) for i in found)
    return [f for f in results if f is not None]


def check_language_instruction(view: ItemView) -> CheckResult:
    asked = [i for i in _instructions(view) if i.kind == "language"]
    if not asked or not view.output.strip():
        return None
    return _language(view, asked)


def check_format_instructions(view: ItemView) -> CheckResult:
    return _checked(view, ("format", "max_sentences", "max_words", "max_bullets"))


def check_content_instructions(view: ItemView) -> CheckResult:
    return _checked(view, ("forbidden", "required"))


def instruction_evidence(view: ItemView, instruction: ins.Instruction) -> EvidenceItem:
    """The instruction's own words, where they were written (the span that carries them in trace mode)."""
    if instruction.where == "input":
        return view.in_input(instruction.start, instruction.end, note="the instruction")
    return EvidenceItem(source="system_prompt", text=clip(instruction.quote), span_id=view.system_prompt_span_id(),
                        start=instruction.start, end=instruction.end, note="the instruction")


def _fail(view: ItemView, sub: str, instruction: ins.Instruction, what: str, confidence: float,
          output: EvidenceItem | None = None, decision: str = "fail") -> Finding:
    where = "the system prompt" if instruction.where == "system_prompt" else "the request"
    rationale = f'{where[0].upper()}{where[1:]} says "{clip(instruction.quote, 120)}"; {what}'
    evidence = [instruction_evidence(view, instruction), output or view.in_output(text=view.output[:200], note=what)]
    detector = {"language_mismatch": "instruction_language", "format_violation": "instruction_format"}.get(
        sub, "instruction_content")
    return finding(sub, decision, confidence, rationale, evidence, detector)  # type: ignore[arg-type]


def _language(view: ItemView, asked: list[ins.Instruction]) -> list[Finding]:
    answered, confidence = detect_language(view.output)
    codes = {str(i.value) for i in asked}
    if answered is None or answered in codes:
        return []  # unknown language: nothing to compare; several asked (system vs. user): either is fine
    # the user turn speaks last: its instruction is the one the answer should follow
    instruction = next((i for i in asked if i.where == "input"), asked[0])
    wanted = NAMES.get(str(instruction.value), str(instruction.value))
    return [_fail(view, "language_mismatch", instruction, f"the answer is in {NAMES[answered]}, not {wanted}.",
                  min(0.9, 0.65 + confidence / 4))]


def _format(view: ItemView, instruction: ins.Instruction) -> Finding | None:
    text = view.output
    bullets = len(_BULLET_LINE.findall(text))
    numbered = len(_NUMBERED_LINE.findall(text))
    table = len(_TABLE_ROW.findall(text)) >= 2 and bool(_TABLE_RULE.search(text)) or "<table" in lowered(text)
    kind = str(instruction.value)
    short = len(text.split()) < _CAN_CHECK_FORMAT_WORDS
    missing = {"bullets": bullets < 2 and not table, "list": bullets < 2 and not table,
               "numbered": numbered < 2, "table": not table}
    if kind in missing:
        if not missing[kind]:
            return None
        what = {"bullets": "a bulleted list", "list": "a list", "numbered": "a numbered list", "table": "a table"}[kind]
        sure = not short and (kind != "numbered" or bullets < 2) and kind != "list"
        return _fail(view, "format_violation", instruction, f"the answer is not {what}.", 0.75 if sure else 0.5,
                     decision="fail" if sure else "unsure")
    marked = len(_MARKER_LINE.findall(text))
    broken = {"no_bullets": marked >= 2, "no_list": bullets >= 2, "no_table": table}.get(kind, False)
    if not broken:
        return None
    what = "a table" if kind == "no_table" else f"a list of {bullets} items"
    return _fail(view, "format_violation", instruction, f"the answer uses {what}.", 0.75)


def count_sentences(text: str) -> int:
    """Sentences (and list lines) in ``text``, not splitting after common abbreviations."""
    return sum(1 for part in _SENTENCE_END.split(text.strip()) if part and any(c.isalnum() for c in part))


def _sentences(view: ItemView, instruction: ins.Instruction) -> Finding | None:
    allowed, used = int(instruction.value), count_sentences(view.output)
    if used <= allowed:
        return None
    sure = used >= allowed + 2
    return _fail(view, "format_violation", instruction, f"the answer has {used} sentences (allowed: {allowed}).",
                 0.75 if sure else 0.5, decision="fail" if sure else "unsure")


def _words(view: ItemView, instruction: ins.Instruction) -> Finding | None:
    if instruction.where == "input" and INPUT_WORD_LIMIT.search(view.input, lowered(view.input)):
        return None  # the request's word limit is format_check's (same subcategory, one finding)
    allowed, used = int(instruction.value), len(view.output.split())
    if used <= allowed * 1.1 + 3:  # a word count is approximate; a few words over is not a violation
        return None
    sure = used >= allowed * 1.5
    return _fail(view, "format_violation", instruction, f"the answer has {used} words (allowed: {allowed}).",
                 0.75 if sure else 0.5, decision="fail" if sure else "unsure")


def _bullet_count(view: ItemView, instruction: ins.Instruction) -> Finding | None:
    allowed, used = int(instruction.value), len(_BULLET_LINE.findall(view.output))
    if used <= allowed:
        return None
    return _fail(view, "format_violation", instruction, f"the answer has {used} bullet points (allowed: {allowed}).",
                 0.75)


def _forbidden(view: ItemView, instruction: ins.Instruction) -> Finding | None:
    terms = content_terms(str(instruction.value))
    if not terms or not terms <= content_terms(view.output):
        return None
    for start, end in _output_sentences(view.output):
        sentence = view.output[start:end]
        if terms <= content_terms(sentence) and not _DECLINES.search(sentence):
            return _fail(view, "ignored_instruction", instruction, f'the answer mentions "{instruction.value}".',
                         0.75, view.in_output(start, end, note=f"mentions {instruction.value}"))
    return None  # only in sentences that decline to discuss it


def _required(view: ItemView, instruction: ins.Instruction) -> Finding | None:
    value = str(instruction.value)
    if value == "<link>":
        present = bool(_LINK.search(view.output))
        what = "the answer has no link."
    elif instruction.quote.count(value) and _is_quoted(instruction.quote, value):
        present = _squash(value) in _squash(view.output)
        what = f'the answer does not contain "{value}".'
    else:
        present = content_terms(value) <= content_terms(view.output)
        what = f"the answer does not mention {value}."
    if present:
        return None
    return _fail(view, "ignored_instruction", instruction, what, 0.7)


def _is_quoted(quote: str, value: str) -> bool:
    at = quote.find(value)
    return at > 0 and quote[at - 1] in "\"'“‘"


def _squash(text: str) -> str:
    return " ".join(normalize_quotes(text).lower().split()).strip(" .!")


def _output_sentences(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"[^.!?\n]+[.!?]*", text) if m.group().strip()]


_CHECKS: dict[str, Callable[[ItemView, ins.Instruction], Finding | None]] = {
    "format": _format, "max_sentences": _sentences, "max_words": _words, "max_bullets": _bullet_count,
    "forbidden": _forbidden, "required": _required,
}

DETECTORS = (
    Detector("instruction_language", ("language_mismatch",), check_language_instruction, pass_confidence=0.8),
    Detector("instruction_format", ("format_violation",), check_format_instructions, pass_confidence=0.75),
    Detector("instruction_content", ("ignored_instruction",), check_content_instructions, pass_confidence=0.7),
)
