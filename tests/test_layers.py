"""The layers of ``valiqor_trace`` import one way, and never into another layer's private modules.

core <- instrumentors <- analyzer <- composition root:

- composition root: the facade (``valiqor_trace/__init__.py``), ``init()``'s wiring (``_init.py``), the
  console entry (``cli/``), ``testing/`` (helpers built on ``init()``) and the zero-code start (``run.py``,
  ``_bootstrap/``); it may import every layer (lazily);
- analyzer: ``valiqor_trace/analyzer/``; instrumentors: ``valiqor_trace/instrumentors/``;
- core: every other module of ``valiqor_trace``.

An import is any way one module names another: ``import``/``from ... import`` at module level or inside a
function (lazy), and import strings (``"pkg.mod:Attr"``, ``importlib.import_module("pkg.mod")``,
``[sys.executable, "-m", "pkg.mod"]``). A module is private to its layer when a part of its name below the
layer's root starts with ``_`` (``valiqor_trace._guard``, ``valiqor_trace.store._span_store``,
``valiqor_trace.analyzer.cli._report``); what layers share comes from ``valiqor_trace.internal`` or a public
module. The facade and ``_init.py`` live in the core's own package and assemble its private parts into the
public API, so they may import the core's private modules.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import REPO_ROOT

PACKAGE = "valiqor_trace"
# the facade, init()'s wiring and the zero-code start (`python -m valiqor_trace.run`)
ROOT_MODULES = ("valiqor_trace", "valiqor_trace._init", "valiqor_trace.run")
ROOT_PACKAGES = ("valiqor_trace.cli", "valiqor_trace.testing", "valiqor_trace._bootstrap")
RANKS = {"core": 0, "instrumentors": 1, "analyzer": 2, "composition root": 3}
# A dotted name in a string, optionally after "-m " or before ":attribute" (entry-point style).
_IMPORT_STRING = re.compile(r"^(?:-m\s+)?(valiqor_trace(?:\.\w+)+)(?::[\w.]+)?$")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted((REPO_ROOT / PACKAGE).rglob("*.py"))}


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def layer_of(name: str) -> tuple[str, str]:
    """(layer, the package its private names are counted from)."""
    if name in ROOT_MODULES or any(_within(name, package) for package in ROOT_PACKAGES):
        return "composition root", PACKAGE
    for layer in ("analyzer", "instrumentors"):
        if _within(name, f"{PACKAGE}.{layer}"):
            return layer, f"{PACKAGE}.{layer}"
    return "core", PACKAGE


def is_private(name: str) -> bool:
    _, base = layer_of(name)
    return any(part.startswith("_") for part in name[len(base):].split(".") if part)


def _known(name: str) -> str | None:
    """The longest prefix of ``name`` that is a module of the package."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


@dataclass(frozen=True)
class Import:
    line: int
    target: str  # a module of the package


def imports_of(name: str, source: str, *, is_package: bool) -> list[Import]:
    """Every module of the package that ``source`` (the module ``name``) names, at any depth."""
    found: list[Import] = []
    for node in ast.walk(ast.parse(source)):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".") if is_package else name.split(".")[:-1]
                base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
            # ``from pkg import mod`` names the module pkg.mod; ``from pkg import attribute`` names pkg
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = _IMPORT_STRING.match(node.value.strip())
            if match and _known(match.group(1)) != PACKAGE:  # "valiqor_trace.server" is a logger name
                targets = [match.group(1)]
        for target in targets:
            known = _known(target) if _within(target, PACKAGE) else None
            if known is not None and Import(node.lineno, known) not in found:
                found.append(Import(node.lineno, known))
    return found


def violations(name: str, source: str, *, is_package: bool = False) -> list[str]:
    layer, _ = layer_of(name)
    problems = []
    for found in imports_of(name, source, is_package=is_package):
        target_layer, _ = layer_of(found.target)
        where = f"{name}:{found.line} imports {found.target}"
        if RANKS[target_layer] > RANKS[layer]:
            problems.append(f"{where}: the {layer} may not import the {target_layer} (a higher layer)")
        elif target_layer != layer and is_private(found.target) and not (
                name in ROOT_MODULES and target_layer == "core"):
            problems.append(f"{where}: a private module of the {target_layer}; use valiqor_trace.internal "
                            "or a public module")
    return problems


def test_no_layer_imports_a_higher_layer_or_another_layers_private_modules() -> None:
    problems = [problem for name, path in MODULES.items()
                for problem in violations(name, path.read_text(encoding="utf-8"),
                                          is_package=path.name == "__init__.py")]
    assert problems == [], "\n".join(problems)


def test_the_check_sees_every_layer_and_their_imports() -> None:
    layers = {layer_of(name)[0] for name in MODULES}
    assert layers == set(RANKS)
    edges = [found for name, path in MODULES.items()
             for found in imports_of(name, path.read_text(encoding="utf-8"), is_package=path.name == "__init__.py")]
    assert len(edges) > 300  # the package's own imports are read, not skipped
    assert {layer_of(found.target)[0] for found in edges} == set(RANKS)


def test_the_check_catches_upward_and_private_imports_in_every_form() -> None:
    core = "valiqor_trace.monitor._processor"
    broken = {
        "from valiqor_trace.analyzer.monitor import TraceAnalysis": "higher layer",
        "def build():\n    from valiqor_trace.analyzer import monitor": "higher layer",
        "import valiqor_trace.instrumentors.openai": "higher layer",
        "X = 'valiqor_trace.instrumentors.openai:OpenAIInstrumentor'": "higher layer",
        "importlib.import_module('valiqor_trace.analyzer.monitor')": "higher layer",
        "ARGS = [sys.executable, '-m', 'valiqor_trace.analyzer.monitor._child']": "higher layer",
        "from valiqor_trace import __version__": "higher layer",  # the facade is the composition root
    }
    for source, problem in broken.items():
        [found] = violations(core, source)
        assert problem in found, source
    analyzer = "valiqor_trace.analyzer.runs._store"
    assert "private module of the core" in violations(analyzer, "from valiqor_trace.store._span_store import connect")[0]
    assert "private module of the core" in violations(analyzer, "from valiqor_trace import _guard")[0]
    assert "private module of the instrumentors" in violations(analyzer, "from ...instrumentors._genai import X")[0]
    assert "private module of the analyzer" in violations("valiqor_trace.cli._demo",
                                                          "from valiqor_trace.analyzer.cli._report import f")[0]
    allowed = ("from valiqor_trace.internal import connect\nfrom valiqor_trace.store import SpanStore\n"
               "from valiqor_trace.analyzer.runs._models import FAResult\nlogger = getLogger('valiqor_trace.server')")
    assert violations(analyzer, allowed) == []
    assert violations("valiqor_trace._init", "from valiqor_trace._settings import Settings\n"
                                             "from valiqor_trace.analyzer.monitor import TraceAnalysis") == []
