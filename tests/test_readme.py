"""README.md and docs/ stay true: every init() setting is documented, the Quickstart has its two commands, and
every path they name exists."""

from __future__ import annotations

import inspect
import re

import valiqor_trace
from tests.helpers import REPO_ROOT
from valiqor_trace._settings import SETTINGS

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def test_every_init_argument_and_env_var_is_in_the_configuration_table() -> None:
    table = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    for name in inspect.signature(valiqor_trace.init).parameters:
        assert f"| `{name}` |" in table, f"init({name}=...) is missing from README's configuration table"
    for setting in SETTINGS:
        for var in setting.env:
            assert f"`{var}`" in table, f"{var} is missing from README's configuration table"


def test_quickstart_has_exactly_two_commands_and_ci_runs_the_test_one() -> None:
    quickstart = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = [line for block in re.findall(r"```bash\n(.*?)```", quickstart, re.S)
                for line in block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci


def test_every_client_setting_is_in_the_client_table() -> None:
    from valiqor_trace.analyzer.client._config import CLIENT_SETTINGS

    table = README.split("### `ValiqorClient(...)`", 1)[1].split("\n## ", 1)[0]
    for setting in CLIENT_SETTINGS:
        assert f"| `{setting.name}` |" in table, f"ValiqorClient({setting.name}=...) is missing from README"
        for var in setting.env:
            assert f"`{var}`" in table, f"{var} is missing from README's client table"


DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md")), REPO_ROOT / "benchmarks" / "README.md"]
# A code span naming a repository file or folder: a relative path with a file extension, or ending in "/".
_PATH = re.compile(r"`([A-Za-z0-9_][\w.\-/]*/(?:[\w.\-/]*\.(?:py|md|toml|json|jsonl|csv|txt|typed)|[\w.\-/]*/)?)`")
_LINK = re.compile(r"\]\((?!https?:|mailto:|#)([^)#\s]+)(?:#[^)]*)?\)")


def test_every_path_the_readme_and_docs_name_exists() -> None:
    missing = []
    for doc in DOCS:
        text, name = doc.read_text(encoding="utf-8"), doc.relative_to(REPO_ROOT)
        missing += [f"{name}: `{path}`" for path in _PATH.findall(text) if not (REPO_ROOT / path).exists()]
        missing += [f"{name}: ({link})" for link in _LINK.findall(text) if not (doc.parent / link).exists()]
    assert missing == []
