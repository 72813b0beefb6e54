"""LLM-judge run throughput: items/s and judge requests per item against a judge that takes 200 ms.

    python benchmarks/judge_throughput.py [--items 500] [--delay 0.2] [--data-dir ../shared/data]

The items are the real RAGTruth and tau-bench items of ``fa_throughput.py`` (RAG answers over passages,
news summaries, JSON business data, airline tool-calling trajectories). The judge is a scripted
OpenAI-compatible server on 127.0.0.1 (``python -m valiqor_trace.testing.judge_server``, in its own process so its CPU
does not compete with the run's) that answers every request after ``--delay`` seconds, as a hosted model
roughly does; every judge subcategory is on. Each row is a full
``ValiqorClient.failure_analysis.run(dataset=...)`` on a fresh run store (so no cached verdicts) unless
it says "cached".

Rows:
- ``valiqor, concurrency N``: one batched rubric request per item, N items in flight.
- ``valiqor, cached re-run``: the same items again on the same store: answered from the verdict cache.
- ``one request per subcategory, sequential``: how peer evaluators that run one metric per LLM call, one
  call at a time, would spend the same judge (measured on a few items: it is slow).
- ``no judge``: the deterministic engine alone, for reference.

"expected" is ``ceil(items / concurrency) x delay``: the floor set by the judge's latency.
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fa_throughput import DEFAULT_DATA, load_items

from valiqor_trace.analyzer.client import ValiqorClient
from valiqor_trace.analyzer.fa.engine import AnalysisOptions, analyze_item
from valiqor_trace.analyzer.fa.judge import JudgeRequest, JudgeResult
from valiqor_trace.analyzer.judge import JudgeSettings, OpenAIJudge

MODEL = "bench-judge"


class JudgeProcess:
    """The scripted judge server in a child process; ``requests()`` asks it how many it answered."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self._proc = subprocess.Popen([sys.executable, "-m", "valiqor_trace.testing.judge_server", "--model", MODEL,
                                       "--delay", str(delay_s)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True)
        self.base_url = self._proc.stdout.readline().strip()

    def requests(self) -> int:
        return int(httpx.get(self.base_url + "/stats").json()["requests"])

    def __enter__(self) -> JudgeProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._proc.stdin.close()
        self._proc.wait(timeout=10)


def _dataset(data_dir: Path, count: int) -> list[dict[str, Any]]:
    items = []
    for _, item in load_items(data_dir, count):
        row = item.model_dump(exclude_none=True, exclude={"metadata", "trace_id"})
        items.append(row)
    return items


def _run(server: JudgeProcess | None, items: list[dict[str, Any]], concurrency: int, home: Path,
         label: str) -> dict[str, Any]:
    settings: dict[str, Any] = {"home": str(home)}
    if server is not None:
        settings.update(judge_base_url=server.base_url, judge_model=MODEL, judge_concurrency=concurrency)
    before = server.requests() if server is not None else 0
    with ValiqorClient(**settings) as client:
        started = time.perf_counter()
        result = client.failure_analysis.run(dataset=items)
        wall = time.perf_counter() - started
    requests = (server.requests() - before) if server is not None else 0
    return {"label": label, "items": len(items), "wall": wall, "requests": requests,
            "tokens": result.tokens_used, "judged": sum(t.detector_type_used != "deterministic"
                                                        for t in result.failure_tags),
            "expected": (math.ceil(len(items) / concurrency) * server.delay_s) if server and "cached" not in label
            else None}


class PerSubcategoryJudge:
    """The peer pattern: one judge request per subcategory (metric) of an item."""

    available = True
    unavailable_reason = ""
    concurrency = 1

    def __init__(self, judge: OpenAIJudge) -> None:
        self._judge = judge

    def evaluate(self, request: JudgeRequest) -> JudgeResult:
        out = JudgeResult()
        for sub in request.subcategories:
            one = self._judge.evaluate(JudgeRequest(item=request.item, item_index=request.item_index,
                                                    feature_kind=request.feature_kind, subcategories=[sub],
                                                    findings=[f for f in request.findings
                                                              if f.subcategory_id == sub["id"]]))
            out.findings.extend(one.findings)
            out.tokens_used += one.tokens_used
        return out


def _per_subcategory(server: JudgeProcess, data_dir: Path, count: int) -> dict[str, Any]:
    judge = OpenAIJudge(JudgeSettings(model=MODEL, base_url=server.base_url, concurrency=1))
    wrapped = PerSubcategoryJudge(judge)
    options = AnalysisOptions(judge=wrapped)
    before = server.requests()
    started = time.perf_counter()
    tokens = sum(analyze_item(item, i, options).tokens_used for i, (_, item) in enumerate(load_items(data_dir, count)))
    wall = time.perf_counter() - started
    judge.close()
    return {"label": "one request per subcategory, sequential", "items": count, "wall": wall,
            "requests": server.requests() - before, "tokens": tokens, "judged": None, "expected": None}


def _print(rows: list[dict[str, Any]]) -> None:
    print(f"| {'run':<42} | {'items':>5} | {'wall s':>7} | {'expected s':>10} | {'items/s':>8} | "
          f"{'requests/item':>13} | {'tokens/item':>11} |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        expected = f"{r['expected']:.1f}" if r["expected"] is not None else "-"
        print(f"| {r['label']:<42} | {r['items']:>5} | {r['wall']:>7.2f} | {expected:>10} | "
              f"{r['items'] / r['wall']:>8.1f} | {r['requests'] / r['items']:>13.2f} | "
              f"{r['tokens'] / r['items']:>11.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--delay", type=float, default=0.2, help="seconds the judge takes per request")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--concurrency", type=int, nargs="*", default=[8, 16, 32])
    args = parser.parse_args()
    items = _dataset(args.data_dir, args.items)
    scratch = Path(tempfile.mkdtemp(prefix="judge-bench-"))
    rows = []
    try:
        with JudgeProcess(args.delay) as server:
            rows.append(_run(None, items, 1, scratch / "none", "no judge (deterministic only)"))
            rows.append(_run(server, items[:25], 1, scratch / "c1", "valiqor, concurrency 1"))
            for concurrency in args.concurrency:
                rows.append(_run(server, items, concurrency, scratch / f"c{concurrency}",
                                 f"valiqor, concurrency {concurrency}"))
            last = args.concurrency[-1]
            rows.append(_run(server, items, last, scratch / f"c{last}", f"valiqor, cached re-run (conc. {last})"))
            rows.append(_per_subcategory(server, args.data_dir, 5))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"judge answers after {args.delay * 1000:.0f} ms; every judge subcategory on; "
          f"{args.items} RAGTruth + tau-bench items\n")
    _print(rows)


if __name__ == "__main__":
    main()
