"""The public surface is exactly what the README says, and the docs send users nowhere else.

Public: ``valiqor_trace`` and three modules, ``valiqor_trace.errors``, ``valiqor_trace.attributes`` and
``valiqor_trace.testing``. Everything else is internal. (httpx's ``test_exported_members``, extended to
the README, ``docs/`` and ``examples/``.)
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pkgutil
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import valiqor_trace
import valiqor_trace.attributes
import valiqor_trace.errors
import valiqor_trace.testing
from tests.helpers import REPO_ROOT

EXPORTED = {
    "valiqor_trace": [
        "Alert", "AuthenticationError", "ClickHouseSource", "ContentPolicy", "DatasetError", "FailureAnalysis",
        "FailureAnalysisOptions", "FailureAnalysisRun", "FileSource", "ImportFormatError",
        "JaegerSource", "JudgeAuthenticationError", "JudgeRequestError", "LangChainInstrumentor", "LocalStoreSource",
        "MonitorConfig", "NotFoundError", "OpenAIInstrumentor", "RateLimitError", "RunFailedError",
        "RunNotFinishedError", "ServerStartError", "ServerUnavailableError", "SourceError", "SpanRecord", "SpanScope",
        "SpanStore", "StoreUnavailableError", "TempoSource", "Thresholds", "TraceIncompleteError", "TraceSource", "Traces", "ValidationError",
        "ValiqorClient", "ValiqorError", "ValiqorHandle", "__version__", "current_span_id", "current_trace_id",
        "force_flush", "format_result", "format_trace", "get_handle", "init", "load_dataset_file",
        "normalize_trace_id", "retriever", "serve", "session", "shutdown", "suppress_instrumentation", "tool",
        "trace_function", "trace_id_selected", "trace_workflow",
    ],
    "valiqor_trace.errors": [
        "AuthenticationError", "DatasetError", "ImportFormatError", "JudgeAuthenticationError", "JudgeRequestError",
        "NotFoundError", "RateLimitError", "RunFailedError", "RunNotFinishedError", "ServerStartError",
        "ServerUnavailableError", "SourceError", "StoreUnavailableError", "TraceIncompleteError", "ValidationError",
        "ValiqorError",
    ],
    "valiqor_trace.testing": [
        "InMemorySpanExporter", "JudgeServer", "JudgeStep", "ModelServer", "RecordedJudgeRequest", "RecordedRequest",
        "Reply", "ToolCallSpec", "capture_spans",
    ],
}
# valiqor_trace.attributes is public too; its __all__ is every key constant (checked below, not listed here).
PUBLIC_MODULES = {"valiqor_trace", "valiqor_trace.errors", "valiqor_trace.attributes", "valiqor_trace.testing"}
# Names of loggers and tracers the docs mention: not import paths.
LOGGER_NAMES = {"valiqor_trace.client", "valiqor_trace.monitor", "valiqor_trace.server"}
# Exception classes that never leave the module that raises them: control flow inside one part, turned into a
# typed error (or an HTTP answer) before a caller sees anything. Every other exception class is in
# valiqor_trace.errors. A new exception class anywhere must be added to one or the other.
INTERNAL_EXCEPTIONS = {
    "valiqor_trace.analyzer.judge._http.SchemaNotSupported": "caught by the judge, which retries without a schema",
    "valiqor_trace.analyzer.judge._parse.VerdictError": "caught by the judge: one repair retry, then a skip reason",
    "valiqor_trace.analyzer.server._otlp_decode.IngestError": "becomes the HTTP status of the OTLP answer",
    "valiqor_trace.analyzer.server._writer.QueueFull": "becomes a 503 with Retry-After",
    "valiqor_trace.analyzer.sources._decode.FieldError": "wrapped in RecordError, then ImportFormatError",
    "valiqor_trace.analyzer.sources._otlp.RecordError": "becomes ImportFormatError or a rejected-span count",
    "valiqor_trace.analyzer.sources._otlp_values._BadValue": "becomes FieldError with the attribute path",
}

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
EXAMPLES = sorted((REPO_ROOT / "examples").glob("*.py"))


def _module(name: str) -> ModuleType:
    return importlib.import_module(name)


@pytest.mark.parametrize("module_name", sorted(EXPORTED))
def test_exported_members(module_name: str) -> None:
    module = _module(module_name)
    assert module.__all__ == sorted(module.__all__), f"{module_name}.__all__ is not sorted"
    assert module.__all__ == EXPORTED[module_name]


@pytest.mark.parametrize("module_name", sorted(PUBLIC_MODULES))
def test_every_public_name_resolves_and_says_what_it_is(module_name: str) -> None:
    module = _module(module_name)
    assert module.__doc__, f"{module_name} has no docstring"
    for name in module.__all__:
        value = getattr(module, name)
        if inspect.isclass(value) or inspect.isroutine(value):
            assert (value.__doc__ or "").strip(), f"{module_name}.{name} has no docstring"


def test_attribute_keys_are_all_exported_and_are_strings() -> None:
    attributes = valiqor_trace.attributes
    constants = [name for name in vars(attributes) if name.isupper()]
    assert attributes.__all__ == sorted(attributes.__all__)
    assert set(attributes.__all__) == {*constants, "is_content_key"}
    keys = {name: getattr(attributes, name) for name in constants if isinstance(getattr(attributes, name), str)}
    assert len(set(keys.values())) == len(keys), "two constants spell the same key"


def test_errors_exported_from_the_root_are_the_same_objects() -> None:
    for name in valiqor_trace.errors.__all__:
        assert getattr(valiqor_trace, name) is getattr(valiqor_trace.errors, name)


@pytest.mark.parametrize(("module_name", "table"), [("valiqor_trace", "_LAZY"), ("valiqor_trace.testing", "_SERVERS")])
def test_lazy_names_are_listed_by_dir_and_spelled_out_for_type_checkers(module_name: str, table: str) -> None:
    module = _module(module_name)
    assert set(module.__all__) <= set(dir(module))
    tree = ast.parse(Path(module.__file__ or "").read_text(encoding="utf-8"))
    guarded = next(node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING")
    typed = {alias.name: node.module for node in guarded.body if isinstance(node, ast.ImportFrom)
             for alias in node.names}
    assert typed == getattr(module, table)


def test_the_judge_server_runs_as_a_module_without_warnings() -> None:
    out = subprocess.run([sys.executable, "-m", "valiqor_trace.testing.judge_server"], input="", capture_output=True,
                         text=True, cwd=REPO_ROOT, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("http://127.0.0.1:")
    assert out.stderr == ""


def test_importing_valiqor_trace_loads_none_of_the_lazy_modules() -> None:
    lazy = sorted(set(valiqor_trace._LAZY.values()))  # type: ignore[attr-defined]
    code = f"import sys, valiqor_trace; print([m for m in {lazy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# -- errors: one module, one drawn tree ------------------------------------------------------------------


def _package_exception_classes() -> set[type[BaseException]]:
    for info in pkgutil.walk_packages(valiqor_trace.__path__, "valiqor_trace."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    found: set[type[BaseException]] = set()
    pending: list[type[BaseException]] = [BaseException]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                pending.append(sub)
    return {cls for cls in found if cls.__module__.split(".")[0] == "valiqor_trace"}


def test_every_exception_class_is_in_the_errors_module_or_declared_internal() -> None:
    classes = _package_exception_classes()
    public = {cls for cls in classes if cls.__module__ == "valiqor_trace.errors"}
    assert {cls.__name__ for cls in public} == set(valiqor_trace.errors.__all__)
    internal = {f"{cls.__module__}.{cls.__qualname__}": cls for cls in classes - public}
    assert set(internal) == set(INTERNAL_EXCEPTIONS), "a new exception class: put it in valiqor_trace.errors"
    for path, cls in internal.items():
        assert not issubclass(cls, valiqor_trace.ValiqorError), f"{path} is a ValiqorError outside errors.py"
        assert any(part.startswith("_") for part in path.split(".")[1:]), f"{path} is not in a private module"


def _drawn_tree(text: str) -> dict[str, tuple[int, str | None]]:
    """{class name: (depth, the built-in in brackets)} from the tree drawing in ``text``."""
    tree: dict[str, tuple[int, str | None]] = {}
    for line in text.splitlines():
        match = re.match(r"^([ │├└─]*)([A-Z]\w+Error)\b(?:\s+\((\w+)\))?", line.strip("\n"))
        if match and (match.group(1).strip() or match.group(2) == "ValiqorError"):
            tree[match.group(2)] = (len(match.group(1)), match.group(3))
    return tree


def test_the_drawn_tree_is_the_class_tree() -> None:
    drawing = valiqor_trace.errors.__doc__ or ""
    tree = _drawn_tree(drawing.split("::", 1)[1])
    assert set(tree) == set(valiqor_trace.errors.__all__)
    stack: list[tuple[int, str]] = []
    for name, (depth, builtin) in tree.items():
        while stack and stack[-1][0] >= depth:
            stack.pop()
        cls = getattr(valiqor_trace.errors, name)
        ours = [base.__name__ for base in cls.__bases__ if base.__module__ == "valiqor_trace.errors"]
        builtins = [base.__name__ for base in cls.__bases__ if base.__module__ == "builtins"]
        assert ours == ([stack[-1][1]] if stack else []), f"{name} is drawn under the wrong parent"
        assert builtins == ([builtin] if builtin else []), f"{name}: the bracketed built-in is wrong"
        stack.append((depth, name))


def test_the_readme_draws_the_same_tree() -> None:
    drawing = (valiqor_trace.errors.__doc__ or "").split("::\n\n", 1)[1].split("\n\n", 1)[0]
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "\n".join(line[4:] for line in drawing.splitlines()) in readme


# -- the README, docs/ and examples/ use only public names -----------------------------------------------


def _imports_in_docs() -> list[tuple[str, str, list[str]]]:
    """(file, module, names) of every ``from valiqor_trace... import ...`` / ``import valiqor_trace...``."""
    found = []
    for path in DOCS:
        for line in path.read_text(encoding="utf-8").splitlines():
            for match in re.finditer(r"(?:^|`)\s*from\s+(valiqor_trace[\w.]*)\s+import\s+([\w ,]+)", line):
                found.append((path.name, match.group(1), [n.strip() for n in match.group(2).split(",") if n.strip()]))
            for match in re.finditer(r"(?:^|`)\s*import\s+(valiqor_trace[\w.]*)", line):
                found.append((path.name, match.group(1), []))
    for path in EXAMPLES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("valiqor_trace"):
                found.append((path.name, node.module or "", [alias.name for alias in node.names]))
            elif isinstance(node, ast.Import):
                found.extend((path.name, alias.name, []) for alias in node.names if alias.name.startswith("valiqor_trace"))
    return found


def test_docs_and_examples_import_only_public_names() -> None:
    imports = _imports_in_docs()
    assert len(imports) > 10  # the parser found the imports there are
    for where, module_name, names in imports:
        assert module_name in PUBLIC_MODULES, f"{where} imports from {module_name}, which is not public"
        exported = _module(module_name).__all__
        for name in names:
            assert name in exported, f"{where} imports {name} from {module_name}, which does not export it"


# The parts of the architecture, named as such where the docs describe the layers (never as a path to import
# from): the instrumentors, the analyzer, the CLI and the layers' internal API. Any path below them is refused.
ARCHITECTURE_PARTS = {"valiqor_trace.instrumentors", "valiqor_trace.analyzer", "valiqor_trace.cli",
                      "valiqor_trace.internal"}


def _dotted_paths(text: str) -> list[str]:
    # `python -m valiqor_trace.cli` and ["-m", "valiqor_trace.cli"] name commands, not imports.
    commands = set(re.findall(r"-m[\"', ]+(valiqor_trace(?:\.\w+)+)", text))
    for command in commands:
        assert importlib.util.find_spec(command) is not None, f"python -m {command}: no such module"
        assert not any(part.startswith("_") for part in command.split(".")), f"python -m {command} is private"
    return [path for path in re.findall(r"valiqor_trace(?:\.\w+)+", text) if path not in commands]


def test_every_dotted_path_in_docs_and_examples_is_public() -> None:
    for path in [*DOCS, *EXAMPLES]:
        for dotted in _dotted_paths(path.read_text(encoding="utf-8")):
            if dotted in LOGGER_NAMES:
                continue
            parts = dotted.split(".")
            if dotted in ARCHITECTURE_PARTS:
                continue  # the parts named as such (layers, layout), never as a path to import from
            if parts[1] in valiqor_trace.__all__:
                continue  # valiqor_trace.init(...), valiqor_trace.MonitorConfig(...)
            module_name = ".".join(parts[:2])
            assert module_name in PUBLIC_MODULES, f"{path.name} mentions {dotted}, outside the public modules"
            if len(parts) > 2:
                assert parts[2] in _module(module_name).__all__, f"{path.name} mentions {dotted}, which is not public"


def test_the_readme_lists_every_public_name() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Public API", 1)[1].split("\n## ", 1)[0]
    errors = set(valiqor_trace.errors.__all__)
    for module_name in ("valiqor_trace", "valiqor_trace.testing"):
        for name in _module(module_name).__all__:
            if name not in errors:  # drawn in the Errors section
                assert f"`{name}`" in section, f"{module_name}.{name} is missing from the README's Public API"
