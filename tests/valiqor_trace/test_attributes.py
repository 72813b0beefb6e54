"""GenAI keys are spelled once (valiqor_trace.attributes), and they match the semantic conventions.

We do not import the keys from ``opentelemetry-semantic-conventions`` at runtime: the GenAI ones live in
its private, incubating module, which renames things between releases. These tests compare our
strings with whatever that package has, so a drift between the two is a failing test, not a silent
change in what our spans say.
"""

from __future__ import annotations

import ast
import importlib
import re
from types import ModuleType

import pytest

from tests.helpers import REPO_ROOT
from valiqor_trace import attributes

GENAI_KEY = re.compile(r"gen_ai\.[a-z0-9_.]*")
# Where the installed semantic-conventions package keeps each kind of key our module spells.
SEMCONV_MODULES = {
    "GEN_AI_": "opentelemetry.semconv._incubating.attributes.gen_ai_attributes",
    "SERVER_": "opentelemetry.semconv.attributes.server_attributes",
    "ERROR_": "opentelemetry.semconv.attributes.error_attributes",
}


def _semconv(module_name: str) -> ModuleType | None:
    try:
        return importlib.import_module(module_name)
    except ImportError:  # moved or gone in this release of the package: nothing to compare with there
        return None


def test_our_keys_match_the_installed_semantic_conventions() -> None:
    compared = 0
    for name in attributes.__all__:
        prefix = next((p for p in SEMCONV_MODULES if name.startswith(p)), None)
        module = _semconv(SEMCONV_MODULES[prefix]) if prefix else None
        theirs = getattr(module, name, None) if module is not None else None
        if isinstance(theirs, str):
            assert getattr(attributes, name) == theirs, f"{name}: ours {getattr(attributes, name)!r}, semconv {theirs!r}"
            compared += 1
    if _semconv(SEMCONV_MODULES["GEN_AI_"]) is None:
        pytest.skip("this opentelemetry-semantic-conventions has no gen_ai_attributes module")
    assert compared >= 30  # the comparison ran over the keys (a renamed module would otherwise pass silently)


def test_no_genai_key_is_spelled_outside_the_attributes_module() -> None:
    """Writer (instrumentors) and reader (reconstruction) import the keys; neither spells one."""
    spelled = []
    for path in sorted((REPO_ROOT / "valiqor_trace").rglob("*.py")):
        if path == REPO_ROOT / "valiqor_trace" / "attributes.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and GENAI_KEY.fullmatch(node.value):
                spelled.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}: {node.value!r}")
    assert spelled == []


def test_the_content_keys_include_every_genai_content_key() -> None:
    for name in ("GEN_AI_INPUT_MESSAGES", "GEN_AI_OUTPUT_MESSAGES", "GEN_AI_SYSTEM_INSTRUCTIONS",
                 "GEN_AI_TOOL_DEFINITIONS", "GEN_AI_TOOL_CALL_ARGUMENTS", "GEN_AI_TOOL_CALL_RESULT",
                 "GEN_AI_RETRIEVAL_QUERY_TEXT", "GEN_AI_RETRIEVAL_DOCUMENTS", "GEN_AI_PROMPT", "GEN_AI_COMPLETION"):
        assert attributes.is_content_key(getattr(attributes, name)), name
    assert attributes.is_content_key(f"{attributes.GEN_AI_PROMPT}.0.content")
    assert not attributes.is_content_key(attributes.GEN_AI_REQUEST_MODEL)
