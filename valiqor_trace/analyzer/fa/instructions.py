"""Instructions about the response, read from the system prompt and the user turn.

Only sentences addressed to the assistant count: an imperative at the start of a clause
("Always answer in German", "Please reply in French", "Can you answer in Spanish?",
"You must never mention pricing") or a rule about "your answer(s)". A sentence that merely
mentions a language or a format ("He answered in German", "Is this list complete?") is
not an instruction. Each :class:`Instruction` keeps where it was found and its character
offsets, so that a finding can quote it.

Kinds: ``language`` (value: an ISO 639-1 code), ``format`` (``bullets``, ``numbered``,
``list``, ``table``; ``no_bullets``/``no_list``/``no_table``), ``max_sentences``,
``max_words``, ``max_bullets`` (value: the limit), ``forbidden`` (value: the phrase not to
mention) and ``required`` (value: a quoted literal, a proper name, or ``<link>``).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from valiqor_trace.analyzer.fa.lang import NAMES

# language name (lower case) -> ISO code, from the codes language detection knows, plus common aliases
_LANGUAGE_CODES = {name.lower(): code for code, name in NAMES.items()} | {
    "castilian": "es", "mandarin": "zh", "brazilian portuguese": "pt", "flemish": "nl"}
_LANGUAGE_NAMES = "|".join(sorted((re.escape(n) for n in _LANGUAGE_CODES), key=len, reverse=True))
# How each language names itself in a request written in it, and the words that make it an instruction there.
_NATIVE = {
    "de": (r"auf deutsch", r"antworte|antworten sie|schreib|schreibe|schreiben sie|bitte|immer|nur"),
    "es": (r"en (?:español|espanol|castellano)", r"responde|respóndeme|responda|contesta|conteste|escribe|escriba|"
                                                  r"siempre|solo|sólo|por favor"),
    "fr": (r"en (?:français|francais)", r"réponds|répondez|reponds|repondez|écris|écrivez|ecris|ecrivez|toujours|"
                                         r"uniquement|merci de|s'il vous"),
    "it": (r"in italiano", r"rispondi|risponda|scrivi|scriva|sempre|solo|per favore"),
    "pt": (r"em (?:português|portugues)", r"responda|responde|escreva|escreve|sempre|apenas|por favor"),
    "nl": (r"in het nederlands", r"antwoord|schrijf|altijd|alleen|graag"),
}
_NATIVE_PATTERNS = {code: (re.compile(rf"\b{phrase}\b", re.IGNORECASE), re.compile(rf"\b(?:{verbs})\b", re.IGNORECASE))
                    for code, (phrase, verbs) in _NATIVE.items()}

# The start of an instruction: a clause start, then optional politeness, modal and adverbs.
_HEAD = (r"(?:^|(?<=[,;:(])\s*|\b(?:and|then|but|also)\s+)"
         r"(?:please\s+|kindly\s+|(?:can|could|would|will)\s+you\s+(?:please\s+)?|"
         r"you\s+(?:must|should|shall|will|need\s+to|have\s+to|are\s+to)\s+|"
         r"make\s+sure\s+(?:to\s+|you\s+|that\s+you\s+)|"
         r"be\s+sure\s+to\s+|remember\s+to\s+|always\s+|only\s+|strictly\s+|exclusively\s+)*")
_RESPONSE = r"(?:your\s+)?(?:answers?|responses?|replies|reply|output|messages?)"
# "your answers must be in German", "responses should always be written in French"
_RULE_HEAD = rf"(?:^|(?<=[,;:(])\s*|\b(?:and|then|but|also)\s+){_RESPONSE}\s+" \
             r"(?:must|should|shall|need\s+to|have\s+to)\s+(?:always\s+|only\s+)*" \
             r"be(?:\s+(?:written|given|only|always))*"
_CLAUSE_END = (r"(?=\s*(?:[.,;:!?)\n]|$|only\b|and\b|please\b|at all\b|unless\b|even\b|from\b|no matter\b|"
               r"regardless\b))")
# a word between the verb and "in <Language>": not one that starts a description ("emails written in Spanish")
_FILLER = r"(?!(?:written|sent|asked|posted|received|spoken|said|that|which|who|whose|from|by)\b)[\w'-]+"
_LANGUAGE = re.compile(
    rf"(?:{_HEAD}(?:answer|respond|reply|write|speak|communicate|talk|converse|chat)\b(?:\s+{_FILLER}){{0,5}}?"
    rf"|{_RULE_HEAD})\s+(?:in|using)\s+(?:the\s+)?(?P<lang>{_LANGUAGE_NAMES})(?:\s+language)?{_CLAUSE_END}",
    re.IGNORECASE)
# a sentence that asks something of the response: where a length limit counts
_INSTRUCTING = re.compile(
    rf"{_HEAD}(?:answer|respond|reply|write|keep|limit|use|summari[sz]e|describe|explain|give|list|state|provide|"
    rf"tell|say|be|name|define|outline|present|express|return|put)\b|{_RULE_HEAD}|"
    rf"\b{_RESPONSE}\s+(?:must|should|shall|may)\s+(?:not\s+|never\s+)?(?:be|exceed|have|contain|use)\b",
    re.IGNORECASE)
# no "the": that points at a table or list in the material ("answer using the table below")
_FORMAT_NOUN = (r"((?:a\s+|an\s+)?(?:markdown\s+)?(?:bullet(?:ed)?(?:\s+point)?\s+list|bullet\s*points?|"
                r"bullets|numbered\s+(?:list|steps)|list|table))"
                r"(?!\s+(?:below|above|provided|given|shown|attached|here|from|of|that|which)\b)")
_FORMAT = re.compile(
    rf"{_HEAD}(?:(?:answer|respond|reply|format|give|provide|present|return|write|structure|organi[sz]e|put|show|"
    rf"list|summari[sz]e|output)\b(?:\s+{_FILLER}){{0,4}}?\s+(?:as|in|with|using|into)\s+|use\s+){_FORMAT_NOUN}\b"
    rf"|{_RULE_HEAD}\s+(?:in\s+|as\s+)?{_FORMAT_NOUN}\b", re.IGNORECASE)  # group 1 or 2: the format
_NO_FORMAT = re.compile(
    rf"{_HEAD}(?:do\s+not|don't|never|avoid)\s+(?:use\s+|using\s+|include\s+|format\s+\w+\s+as\s+|answer\s+in\s+)?"
    r"(?:any\s+)?(?P<what>bullet(?:ed)?\s*(?:points?|lists?)|bullets|numbered\s+lists?|lists|tables)\b", re.IGNORECASE)
_NUMBER = r"(?P<n>\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|a\s+single)"
_AT_MOST = r"(?:at\s+most|no\s+more\s+than|not\s+more\s+than|up\s+to|a\s+maximum\s+of|maximum(?:\s+of)?|max\.?|" \
           r"fewer\s+than|less\s+than|under|within|in|using|with|" \
           r"(?:keep|limit(?:ed)?)\s+(?:[\w']+\s+){0,2}?to(?:\s+at\s+most)?)"
_SENTENCE_LIMIT = re.compile(rf"\b{_AT_MOST}\s+{_NUMBER}\s+(?:short\s+|brief\s+|concise\s+|complete\s+)?sentences?\b",
                             re.IGNORECASE)
_WORD_LIMIT = re.compile(rf"\b{_AT_MOST}\s+{_NUMBER}\s+words?\b", re.IGNORECASE)
_BULLET_LIMIT = re.compile(rf"\b{_AT_MOST}\s+{_NUMBER}\s+(?:bullet(?:ed)?\s*points?|bullets|list\s+items)\b",
                           re.IGNORECASE)
_STRICT = ("fewer", "less", "under")  # "fewer than 3" allows 2
_FORBIDDEN = re.compile(
    rf"{_HEAD}(?:do\s+not|don't|never|must\s+not|mustn't|should\s+not|shouldn't|avoid)\s+(?:ever\s+)?"
    r"(?:mention(?:ing)?|discuss(?:ing)?|bring(?:ing)?\s+up|refer(?:ring)?\s+to|talk(?:ing)?\s+about|"
    r"reveal(?:ing)?|name|naming)\s+(?P<x>[^.;:!?\n]{2,80})", re.IGNORECASE)
_REQUIRED = re.compile(
    rf"{_HEAD}(?:(?:mention|include|add|cite|state|name)|(?:end|start|begin|close|sign\s+off)\s+"
    r"(?:(?:every|each|all|your|the)\s+)*(?:\w+\s+)?with)\s+(?P<x>[^.;:!?\n]{2,80})", re.IGNORECASE)
# a closing quote may be cut off with the sentence ("end with 'Have a nice day!'" ends at the "!")
_QUOTED = re.compile(r"[\"“'‘]([^\"”'’\n]{2,80})(?:[\"”'’]|$)")
_LINK = re.compile(r"^(?:a|the|an?\s+\w+)?\s*(?:link|url|web\s*address|hyperlink)s?\b", re.IGNORECASE)
_PROPER = re.compile(r"^(?:the\s+|our\s+)?((?:[A-Z][\w+&'-]*)(?:\s+[A-Z0-9][\w+&'-]*){0,3})\b")
_VAGUE = frozenset({"it", "this", "that", "these", "those", "them", "anything", "everything", "yourself", "any",
                    "something", "things", "i", "you", "we", "they"})
# "even if the user writes in English" restates the rule; "if"/"when"/"unless" make it conditional
_CONDITION = re.compile(r"\b(?<!even )(?:if|when|whenever|unless|except|in case|where (?:relevant|appropriate|"
                        r"possible|applicable|needed|necessary))\b", re.IGNORECASE)
_QUESTION = re.compile(r"(?!(?:can|could|would|will)\s+you\b)(?:what|how|why|is|are|was|were|do|does|did|can|could|"
                       r"should|would|will|which|who|whom|where|when|may|might|has|have)\b", re.IGNORECASE)
_SMALL = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
          "ten": 10}
_CUE_WORDS = ("answer", "respond", "reply", "repl", "write", "speak", "communicat", "talk", "convers", "chat",
              "format", "list", "table", "bullet", "sentence", "word", "mention", "discuss", "include", "refer",
              "reveal", "bring up", " name", "end ", "start ", "begin ", "close ", "sign ", "cite", "state",
              "deutsch", "español", "espanol", "castellano", "français", "francais", "italiano", "português",
              "portugues", "nederlands", "output", "present", "use ")

_CUE = re.compile("|".join(map(re.escape, _CUE_WORDS)))  # one of them is in every instruction


@dataclass(frozen=True)
class Instruction:
    """One instruction about the response: what it asks, where it was written, and its exact words."""

    kind: str
    value: str | int
    where: str  # "system_prompt" or "input"
    start: int
    end: int
    quote: str
    conditional: bool = False  # "If the user asks about X, ..." / "... unless asked": may not apply to this turn


def extract(text: str, where: str) -> list[Instruction]:
    """Every instruction about the response in ``text`` (a system prompt or a user turn)."""
    return list(_extract(text, where)) if text else []


@lru_cache(maxsize=1024)  # system prompts repeat across the items of a run
def _extract(text: str, where: str) -> tuple[Instruction, ...]:
    folded = text.lower()
    # Where cue words start, from one scan of the text. A cue is letters and spaces, so a match never crosses
    # the end of a clause: a clause holds a cue exactly when a match of this scan starts inside it. (Offsets of
    # the text and of its lower case agree when lower-casing kept the length: no letter became two.)
    cues = [m.start() for m in _CUE.finditer(folded)]
    if not cues:
        return ()
    aligned = len(folded) == len(text)
    found: list[Instruction] = []
    for start, end in _clauses(text):
        at = bisect_left(cues, start)
        if not (at < len(cues) and cues[at] < end if aligned else _CUE.search(folded, start, end)):
            continue  # most sentences hold no cue word: skip the instruction patterns
        if _inside_quotes(text, start):
            continue  # a quoted example task ('Task: "... Let's answer in one word."') is not said to the model
        sentence = text[start:end]
        for instruction in _in_sentence(sentence, where):
            found.append(Instruction(instruction.kind, instruction.value, where, start + instruction.start,
                                     start + instruction.end, instruction.quote, instruction.conditional))
    return tuple(found)


def _inside_quotes(text: str, start: int) -> bool:
    """Whether ``start`` is inside a double-quoted passage opened earlier on its line."""
    line = text[text.rfind("\n", 0, start) + 1:start]
    return (line.count('"') + line.count("“") + line.count("”")) % 2 == 1


def _clauses(text: str) -> Iterator[tuple[int, int]]:
    """Sentences and lines of ``text`` (instructions are one sentence long)."""
    for match in re.finditer(r"[^.!?\n]+[.!?]*", text):
        if match.group().strip():
            yield match.start(), match.end()


def _in_sentence(sentence: str, where: str) -> Iterator[Instruction]:
    stripped = sentence.strip()
    lead = len(sentence) - len(sentence.lstrip())
    # offsets are of the trimmed sentence within ``sentence``
    conditional = bool(_CONDITION.search(stripped))

    def make(kind: str, value: str | int) -> Instruction:
        return Instruction(kind, value, where, lead, lead + len(stripped), stripped, conditional)

    if stripped.endswith("?") and _QUESTION.match(stripped):
        return  # a question about something ("Is German hard?"), not an instruction ("Can you answer in French?")
    for match in _LANGUAGE.finditer(stripped):
        code = _LANGUAGE_CODES.get(match.group("lang").lower())
        if code:
            yield make("language", code)
    for code, (native, verbs) in _NATIVE_PATTERNS.items():
        if native.search(stripped) and verbs.search(stripped):
            yield make("language", code)
    yield from (make(*found) for found in _formats(stripped))
    if _INSTRUCTING.search(stripped):  # "in one word" alone may describe anything; "Answer in one word" asks
        yield from (make(*found) for found in _limits(stripped))
    for match in _FORBIDDEN.finditer(stripped):
        for phrase in _alternatives(match.group("x")):
            yield make("forbidden", phrase)
    for match in _REQUIRED.finditer(stripped):
        value = _required_value(match.group("x"))
        if value:
            yield make("required", value)


def _formats(sentence: str) -> Iterator[tuple[str, str]]:
    for match in _FORMAT.finditer(sentence):
        what = (match.group(1) or match.group(2)).lower()
        yield "format", ("table" if "table" in what else "numbered" if "numbered" in what
                         else "bullets" if "bullet" in what else "list")
    for match in _NO_FORMAT.finditer(sentence):
        what = match.group("what").lower()
        yield "format", "no_table" if "table" in what else "no_bullets" if "bullet" in what else "no_list"


def _limits(sentence: str) -> Iterator[tuple[str, int]]:
    for kind, pattern in (("max_sentences", _SENTENCE_LIMIT), ("max_words", _WORD_LIMIT),
                          ("max_bullets", _BULLET_LIMIT)):
        for match in pattern.finditer(sentence):
            word = re.sub(r"\s+", " ", match.group("n").lower())
            limit = 1 if word == "a single" else int(word) if word.isdigit() else _SMALL[word]
            if match.group().lower().startswith(_STRICT):
                limit = max(1, limit - 1)
            yield kind, limit


def _alternatives(phrase: str) -> list[str]:
    """"pricing, discounts or competitors" -> each thing not to mention (vague ones dropped)."""
    phrase = re.split(r"\b(?:unless|except|if|when|because|even|in\s+your|to\s+the)\b", phrase, maxsplit=1,
                      flags=re.IGNORECASE)[0]
    parts = re.split(r",\s*|\s+(?:or|and|nor)\s+", phrase)
    found = []
    for part in parts:
        words = [w for w in re.findall(r"[\w'-]+", part) if w.lower() not in ("the", "a", "an", "any", "our",
                                                                             "your", "their", "its")]
        if 1 <= len(words) <= 4 and not any(w.lower() in _VAGUE for w in words):
            found.append(" ".join(words))
    return found


def _required_value(phrase: str) -> str | None:
    """A checkable required element: a quoted literal, a link, or a proper name; else ``None``."""
    quoted = _QUOTED.search(phrase)
    if quoted and quoted.start() < 40:
        return quoted.group(1).strip()
    if _LINK.match(phrase.strip()):
        return "<link>"
    proper = _PROPER.match(phrase.strip())
    if proper and not proper.group(1).split()[0].lower() in _VAGUE | {"a", "an", "the", "your", "our"}:
        return proper.group(1)
    return None
