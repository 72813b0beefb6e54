"""``valiqor demo``: trace example apps with one line, then find their failures by trace ID."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
from collections.abc import Iterator
from typing import Any

import valiqor_trace
from valiqor_trace.internal import TableColumn, describe_store, print_renderable, table

PROJECT = "valiqor-demo"
_NEEDS = ("openai", "langchain_core", "langchain_openai")


SUMMARY_COLUMNS = [
    TableColumn("app", lambda pair: pair[0].title),
    TableColumn("planted failure", lambda pair: pair[0].expected),
    TableColumn("primary failure found", lambda pair: pair[1].summary.primary_failure_name or "none"),
    TableColumn("sev", lambda pair: f"{pair[1].summary.overall_severity:.0f}", justify="right", no_wrap=True),
]


def register(cli) -> None:  # noqa: ANN001 - valiqor_trace.cli.Cli
    demo = cli.command("demo", "trace example LLM apps and analyze each trace for failures")
    demo.add_argument("--home", help="data directory (default: $VALIQOR_HOME or ./.valiqor)")
    demo.set_defaults(func=run_demo)


@contextlib.contextmanager
def _models() -> Iterator[tuple[Any, Any, str]]:
    """(OpenAI client, LangChain chat model, where they answer from): the real API or the local model."""
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    if os.environ.get("OPENAI_API_KEY"):
        import openai

        yield openai.OpenAI(), ChatOpenAI(model="gpt-4o-mini", temperature=0), "the OpenAI API (OPENAI_API_KEY)"
        return
    from valiqor_trace.cli._demo_apps import MODEL, scripted_replies
    from valiqor_trace.testing.model_server import ModelServer

    with ModelServer(scripted_replies()) as server:
        chat = ChatOpenAI(model=MODEL, base_url=server.base_url, api_key=SecretStr("local-model-server"), max_retries=0)
        yield server.client(), chat, f"a scripted local model at {server.base_url} (no key, no network)"


def run_demo(args: argparse.Namespace) -> int:
    missing = [name for name in _NEEDS if importlib.util.find_spec(name) is None]
    if missing:
        raise RuntimeError(f"the demo needs {', '.join(missing)}: pip install 'valiqor-trace[demo]'")
    from valiqor_trace.analyzer.cli import result_report
    from valiqor_trace.analyzer.client import ValiqorClient
    from valiqor_trace.cli._demo_apps import run_apps

    handle = valiqor_trace.init(project_name=PROJECT, home=args.home)
    with _models() as (openai_client, chat_model, source):
        print(f"valiqor demo: 4 requests to 2 apps, traced by valiqor_trace.init(); answers from {source}\n")
        runs = run_apps(openai_client, chat_model)
    handle.force_flush()
    client = ValiqorClient(project_name=PROJECT, home=args.home or handle.settings.home,
                           store_path=handle.store_path)
    results = []
    for number, run in enumerate(runs, start=1):
        result = client.failure_analysis.run(trace_id=run.trace_id)
        results.append(result)
        print(f"── {number}. {run.title} " + "─" * max(0, 60 - len(run.title)))
        print(f"Q: {run.question}\nA: {run.answer}\ntrace {run.trace_id}  (valiqor traces show {run.trace_id})\n")
        print_renderable(result_report(result, max_rows=8))
        print()
    print("── summary " + "─" * 58)
    print_renderable(table(SUMMARY_COLUMNS, zip(runs, results)))
    print(f"\ntraces: {describe_store(handle.store_path)}   runs: {client.config.run_store_where}")
    print("next: valiqor fa list --project-name valiqor-demo   ·   valiqor fa result --run-id RUN_ID")
    client.close()
    handle.shutdown()
    return 0
