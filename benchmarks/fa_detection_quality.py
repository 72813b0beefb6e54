"""Detection quality of the deterministic FA detectors on real, human-labelled data.

    python benchmarks/fa_detection_quality.py [--data-dir ../shared/data] [--only ragtruth|trail|taubench]

- RAGTruth: response-level hallucination precision / recall / F1 per task, against the
  always-"hallucinated" floor, per task and pooled, on the calibration half (where the novelty and
  contradiction thresholds are calibrated), the held-out half and all records (see benchmarks/_fa_ragtruth.py).
- TRAIL: error location recall / precision, category agreement and joint accuracy from the span
  ids in tag evidence (see benchmarks/_fa_trail.py), per half of the traces.
- tau-bench (airline): failed-task recall and false-alarm rate of tool-use tags (see
  benchmarks/_fa_taubench.py), per half of the tasks.

TRAIL and tau-bench are split like RAGTruth (benchmarks/_splits.py: MD5 of the trace / task id,
even = calibration half, odd = held-out half); rules are checked on the calibration half, the
held-out half is the figure that counts.

No key, no network: only the deterministic detectors run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _fa_ragtruth  # noqa: E402
import _fa_taubench  # noqa: E402
import _fa_trail  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [[f"{c:.3f}" if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = lambda values: "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths)) + " |"  # noqa: E731
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells)])


def ragtruth(data_dir: Path) -> None:
    calibration, *rows = _fa_ragtruth.run(data_dir)
    print("## RAGTruth (response level; hallucinated = any hallucination-bucket fail tag)\n")
    c = calibration
    print(f"novelty thresholds (share, fewest novel words) calibrated on the calibration half: prose "
          f"({c['calibrated_prose']}, {c['calibrated_words_prose']}) (mean F1 there {c['calibration_f1_prose']}), "
          f"structured ({c['calibrated_structured']}, {c['calibrated_words_structured']}) (mean F1 "
          f"{c['calibration_f1_structured']}); shipped: prose ({c['shipped_prose']}, {c['shipped_words_prose']}), "
          f"structured ({c['shipped_structured']}, {c['shipped_words_structured']})")
    print(f"contradiction alignment for a fail calibrated there: {calibration['calibrated_align_fail']} (mean F1 "
          f"{calibration['calibration_f1_align']}); shipped: {calibration['shipped_align_fail']}\n")
    print(_table(["split", "task", "n", "base rate", "precision", "recall", "F1", "floor F1", "beats floor"],
                 [[r["split"], r["task"], r["n"], r["base_rate"], r["precision"], r["recall"], r["f1"], r["floor_f1"],
                   "yes" if r["beats_floor"] else "NO"] for r in rows]))
    print()


_SPLIT_LABEL = {"calibration": "calibration", "heldout": "held-out", "all": "all"}


def _split_sizes(name: str, rows: list[dict[str, object]], unit: str, size_key: str) -> None:
    sizes = {r["split"]: r[size_key] for r in rows}
    print(f"{name} split (MD5 of the {unit} id, even = calibration): calibration {sizes['calibration']}, "
          f"held-out {sizes['heldout']}, all {sizes['all']}\n")


def trail(data_dir: Path) -> None:
    results = _fa_trail.run(data_dir)
    rows = [r for r in results if "traces" in r]
    print("## TRAIL (error location from evidence span ids; category via a fixed subcategory -> TRAIL map)\n")
    _split_sizes("traces", [r for r in rows if r["subset"] == "all"], "trace", "traces")
    print(_table(["split", "subset", "traces", "gold errors", "location recall", "location precision",
                  "category agreement", "joint accuracy", "joint (micro)"],
                 [[_SPLIT_LABEL[str(r["split"])], r["subset"], r["traces"], r["gold_errors"], r["location_recall"],
                   r["location_precision"], r["category_agreement"], r["joint_accuracy"], r["joint_micro"]]
                  for r in rows]))
    print("\nper trace:")
    print(_table(["trace", "split", "subset", "gold", "located", "joint", "predicted spans", "correct spans"],
                 [[r["trace"][:8], _SPLIT_LABEL[r["split"]], r["subset"], r["gold"], r["located"], r["joint"],
                   r["predicted_spans"], r["correct_spans"]] for r in results if "trace" in r]))
    print()


def taubench(data_dir: Path) -> None:
    rows = _fa_taubench.run(data_dir)
    print("## tau-bench airline (failed = reward 0)\n")
    print("failed-task recall = flagged reward-0 trajectories / reward-0 trajectories; false-alarm rate = flagged "
          "reward-1 trajectories / reward-1 trajectories; flagged = the item has a tag of that signal (alerting: a fail "
          "tag at or above the default alert_severity and alert_confidence)\n")
    sizes = [{"split": r["split"], "n": f"{r['failed_tasks'] + r['passed_tasks']} trajectories "
              f"({r['failed_tasks']} failed)"} for r in rows if r["signal"] == _fa_taubench.SIGNALS[0][1]]
    _split_sizes("trajectories", sizes, "task", "n")
    print(_table(["split", "signal", "failed tasks", "passed tasks", "failed-task recall", "false-alarm rate",
                  "precision"],
                 [[_SPLIT_LABEL[r["split"]], r["signal"], r["failed_tasks"], r["passed_tasks"], r["failed_recall"],
                   r["false_alarm_rate"], r["precision"]] for r in rows]))
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--only", choices=("ragtruth", "trail", "taubench"))
    args = parser.parse_args()
    started = time.perf_counter()
    for name, run in (("ragtruth", ragtruth), ("trail", trail), ("taubench", taubench)):
        if args.only in (None, name):
            run(args.data_dir)
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
