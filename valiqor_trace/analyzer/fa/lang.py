"""Tiny language identification: writing system first, then stopword profiles for Latin-script languages.

Good enough to tell an English question from a Spanish answer (the language-mismatch
check), with no model and no dependency. It abstains (``None``) on short or mixed text
rather than guess.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

_PROFILES: dict[str, frozenset[str]] = {
    "en": frozenset("the and is are was were of to in that it for on with as this be have has not you what which "
                    "their there from by an or but they we can will would".split()),
    "es": frozenset("el la los las de que y en un una es por con para del se no su al lo como más pero sus le ya "
                    "muy también está son fue".split()),
    "fr": frozenset("le la les de des et en un une est que qui dans pour pas sur au du ce il elle sont avec ne se "
                    "plus par mais nous vous cette".split()),
    "de": frozenset("der die das und ist nicht ein eine zu den mit von sich des auf für im dem auch es sind wird "
                    "bei aus wie oder aber nach".split()),
    "it": frozenset("il lo la gli le di che e è un una per non con del della sono si nel al ma come anche più "
                    "questo alla dei".split()),
    "pt": frozenset("o a os as de que e em um uma é não para com do da dos das no na por se mais mas ao como foi "
                    "são também".split()),
    "nl": frozenset("de het een en van is dat niet in op te zijn met voor er maar ook als bij door om aan hij wat "
                    "zij deze".split()),
}
# word -> the languages whose profile holds it: one dict look-up per token scores every language at once
_LANGUAGES_OF: dict[str, tuple[str, ...]] = {
    word: tuple(lang for lang, profile in _PROFILES.items() if word in profile)
    for word in set().union(*_PROFILES.values())
}
_SCRIPT_LANG = {"CYRILLIC": "ru", "GREEK": "el", "ARABIC": "ar", "HEBREW": "he", "DEVANAGARI": "hi", "HANGUL": "ko",
                "THAI": "th", "HIRAGANA": "ja", "KATAKANA": "ja", "CJK": "zh"}
_WORD = re.compile(r"[^\W\d_]+")
_ASCII_WORD = re.compile(r"[a-z]+")  # _WORD on lower-cased ASCII text (a plain class is faster)
_LETTER = re.compile(r"[^\W\d_]")
NAMES = {"en": "English", "es": "Spanish", "fr": "French", "de": "German", "it": "Italian", "pt": "Portuguese",
         "nl": "Dutch", "ru": "Russian", "el": "Greek", "ar": "Arabic", "he": "Hebrew", "hi": "Hindi", "ko": "Korean",
         "th": "Thai", "ja": "Japanese", "zh": "Chinese"}


def _script(char: str) -> str | None:
    if char < "\u0250":  # Basic Latin, Latin-1, Latin Extended-A/B: no name lookup needed
        return "LATIN"
    try:
        name = unicodedata.name(char)
    except ValueError:
        return None
    head = name.split(" ", 1)[0]
    if head == "LATIN":
        return "LATIN"
    if head in _SCRIPT_LANG:
        return head
    return "CJK" if name.startswith("CJK") else None


@lru_cache(maxsize=4096)  # the same prompts recur across the items of a dataset
def detect_language(text: str) -> tuple[str | None, float]:
    """(ISO 639-1 code, confidence 0-1), or (None, 0.0) when the text is too short or mixed."""
    sample = text[:400]
    if sample.isascii():  # the common case: Latin script, no per-character work
        lowered = sample.lower()
        tokens = _ASCII_WORD.findall(lowered)
        return _latin(tokens, 1.0) if sum(map(len, tokens)) >= 12 else (None, 0.0)
    letters = _LETTER.findall(sample)
    if len(letters) < 12:
        return None, 0.0
    scripts = Counter(s for s in map(_script, (c for c in letters if c >= "\u0250")) if s)
    scripts["LATIN"] += sum(1 for c in letters if c < "\u0250") if scripts else len(letters)
    total = sum(scripts.values())
    script, count = scripts.most_common(1)[0]
    share = count / total
    if script != "LATIN":
        if share < 0.5:
            return None, 0.0
        if script == "CJK" and (scripts["HIRAGANA"] + scripts["KATAKANA"]) > 0.05 * total:
            return "ja", share
        return _SCRIPT_LANG[script], share
    return _latin(_WORD.findall(sample.lower()), share)


def _latin(tokens: list[str], share: float) -> tuple[str | None, float]:
    if len(tokens) < 5:
        return None, 0.0
    hits = dict.fromkeys(_PROFILES, 0)  # profile order: ties rank in this order
    for languages in map(_LANGUAGES_OF.get, tokens):
        if languages:
            for lang in languages:
                hits[lang] += 1
    ranked = sorted(hits.items(), key=lambda kv: kv[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top < 2 or top < 1.5 * second:
        return None, 0.0
    return best, min(1.0, share * (top - second) / max(4, top))
