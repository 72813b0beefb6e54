"""RAGTruth response-level hallucination detection with the deterministic FA detectors.

Each RAGTruth record becomes an FA item the way the RAGTruth authors prompted the model:
the instruction as ``input`` (paraphrased from the paper's templates; the summary word
budget is not in the released data, so it is left out), the passages / news / JSON as
``context``. A response counts as "hallucinated" when any hallucination-bucket tag is
``fail``. The floor is the always-"hallucinated" predictor (recall 1, precision = base rate).

Calibration: ``NOVELTY_FAIL`` (share of an answer's content words
found in no source) and ``NOVELTY_FAIL_WORDS`` (how many such words a fail needs) are chosen on the *calibration* half (records whose source id hashes
even) to maximise the mean F1 over the three tasks, and all numbers are reported on the
*held-out* half; the engine's shipped constant is compared with the calibrated one. The contradiction
detector's ``ALIGN_FAIL`` (how closely an answer sentence must align with the source sentence it contradicts
for a fail rather than "unsure") is calibrated on the same half (:func:`calibrate_contradiction`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from valiqor_trace.analyzer.fa import engine
from valiqor_trace.analyzer.fa.detectors import contradiction, grounding
from valiqor_trace.analyzer.fa.detectors.base import ItemView
from valiqor_trace.analyzer.models import FAItem

TASKS = ("qa", "summary", "data2txt")
PROMPTS = {
    "qa": ("Briefly answer the following question:\n{question}\nBear in mind that your response should be strictly "
           "based on the following passages. In case the passages do not contain the necessary information to "
           "answer the question, please reply with: \"Unable to answer based on given passages.\""),
    "summary": "Summarize the following news.",
    "data2txt": ("Write an objective overview about the following local business based only on the provided "
                 "structured data in the JSON format. You should include details and cover the information "
                 "mentioned in the customers' review. The overview should be 100 - 200 words. Don't make up "
                 "information."),
}
_PASSAGE = re.compile(r"(?:^|\n)\s*passage \d+:", re.IGNORECASE)


@dataclass
class Record:
    task: str
    item: FAItem
    hallucinated: bool
    split: str  # "calibration" | "heldout"


def _split(source_id: str) -> str:
    return "calibration" if int(hashlib.md5(source_id.encode()).hexdigest(), 16) % 2 == 0 else "heldout"


def load(data_dir: Path) -> list[Record]:
    records = []
    for task in TASKS:
        for line in (data_dir / "ragtruth" / f"{task}.jsonl").read_text().splitlines():
            row = json.loads(line)
            context = row["context"] or ""
            chunks = [c.strip() for c in _PASSAGE.split(context) if c.strip()] if task == "qa" else [context]
            item = FAItem(input=PROMPTS[task].format(question=row.get("question") or ""), output=row["response"],
                          context=chunks)
            records.append(Record(task, item, bool(row["hallucinated"]), _split(str(row["source_id"]))))
    return records


def prf(pred: list[bool], gold: list[bool]) -> tuple[float, float, float]:
    tp = sum(p and g for p, g in zip(pred, gold))
    fp = sum(p and not g for p, g in zip(pred, gold))
    fn = sum(g and not p for p, g in zip(pred, gold))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _options() -> engine.AnalysisOptions:
    return engine.AnalysisOptions(feature_kind="rag", buckets=["hallucination"], run_eval=False, run_security=False,
                                  run_scan=False)


def predict(records: list[Record]) -> list[bool]:
    options = _options()
    return [any(t.decision == "fail" for t in engine.analyze_item(r.item, i, options).tags)
            for i, r in enumerate(records)]


def _novelty(record: Record) -> tuple[float, int]:
    """(share of the answer's content words found in no source, how many); share 0 below the minimum size."""
    novel, total = grounding.novel_words(ItemView(record.item, "rag"))
    return (len(novel) / total if total >= grounding.NOVELTY_MIN_WORDS else 0.0), len(novel)


_CANDIDATES: list[float | None] = [step / 100 for step in range(5, 61)] + [None]
_WORD_CANDIDATES: list[int | None] = [None, *range(2, 31)]


def calibrate(records: list[Record]) -> dict[str, object]:
    """Best novelty thresholds on the calibration half: one pair for prose sources, one for structured (JSON)
    ones. A pair is the share of novel content words (``NOVELTY_FAIL``) and the fewest novel words for a fail
    (``NOVELTY_FAIL_WORDS``; below it the tag is "unsure").

    Each pair maximises the mean F1 over the calibration records whose sources are of that type (per task,
    then averaged), with every other detector's verdict fixed; of equal scores the first in the sweep (share
    ascending, no word minimum first). ``None`` means "rule off" (share) or "no minimum" (words).
    """
    calib = [r for r in records if r.split == "calibration"]
    shipped = (grounding.NOVELTY_FAIL, grounding.NOVELTY_FAIL_STRUCTURED)
    shipped_words = (grounding.NOVELTY_FAIL_WORDS, grounding.NOVELTY_FAIL_WORDS_STRUCTURED)
    grounding.NOVELTY_FAIL, grounding.NOVELTY_FAIL_STRUCTURED = None, None  # every other detector's verdict
    try:
        base = predict(calib)
    finally:
        grounding.NOVELTY_FAIL, grounding.NOVELTY_FAIL_STRUCTURED = shipped
    novelty = [_novelty(r) for r in calib]
    structured = [grounding.structured_sources_only(ItemView(r.item, "rag")) for r in calib]
    out: dict[str, object] = {}
    for kind, wanted in (("prose", False), ("structured", True)):
        groups = [[i for i, r in enumerate(calib) if r.task == task and structured[i] == wanted] for task in TASKS]
        groups = [g for g in groups if g]
        best: tuple[float, float | None, int | None] = (-1.0, None, None)
        for tau in _CANDIDATES:
            for least in _WORD_CANDIDATES if tau is not None else [None]:
                scores = []
                for idx in groups:
                    pred = [base[i] or (tau is not None and novelty[i][0] >= tau
                                        and (least is None or novelty[i][1] >= least)) for i in idx]
                    scores.append(prf(pred, [calib[i].hallucinated for i in idx])[2])
                mean = sum(scores) / len(scores) if scores else 0.0
                if mean > best[0] + 1e-9:
                    best = (mean, tau, least)
        out[f"calibrated_{kind}"], out[f"calibrated_words_{kind}"] = best[1], best[2]
        out[f"calibration_f1_{kind}"] = round(best[0], 4)
    out["shipped_prose"], out["shipped_structured"] = shipped
    out["shipped_words_prose"], out["shipped_words_structured"] = shipped_words
    return out


_ALIGN_CANDIDATES: list[float | None] = [step / 20 for step in range(10, 21)] + [None]


def calibrate_contradiction(records: list[Record]) -> dict[str, object]:
    """The alignment a contradiction needs to be a fail (``contradiction.ALIGN_FAIL``; below it: unsure), chosen
    on the calibration half to maximise the mean F1 over the three tasks; of equal scores the lowest value
    (the most contradictions reported as fails at no cost there). ``None``: never a fail."""
    calib = [r for r in records if r.split == "calibration"]
    shipped = contradiction.ALIGN_FAIL
    best: tuple[float, float | None] = (-1.0, None)
    try:
        for align in _ALIGN_CANDIDATES:
            contradiction.ALIGN_FAIL = align if align is not None else 2.0  # coverage never reaches 2
            pred = predict(calib)
            scores = [prf([p for p, r in zip(pred, calib) if r.task == task],
                          [r.hallucinated for r in calib if r.task == task])[2] for task in TASKS]
            mean = sum(scores) / len(scores)
            if mean > best[0] + 1e-9:
                best = (mean, align)
    finally:
        contradiction.ALIGN_FAIL = shipped
    return {"calibrated_align_fail": best[1], "calibration_f1_align": round(best[0], 4), "shipped_align_fail": shipped}


def run(data_dir: Path) -> list[dict]:
    records = load(data_dir)
    calibration = {**calibrate(records), **calibrate_contradiction(records)}
    predictions = predict(records)
    rows = []
    for split in ("calibration", "heldout", "all"):
        for task in (*TASKS, "pooled"):
            idx = [i for i, r in enumerate(records)
                   if (task == "pooled" or r.task == task) and (split == "all" or r.split == split)]
            gold = [records[i].hallucinated for i in idx]
            p, r, f = prf([predictions[i] for i in idx], gold)
            fp, fr, ff = prf([True] * len(idx), gold)
            rows.append({"split": split, "task": task, "n": len(idx), "base_rate": sum(gold) / len(gold),
                         "precision": p, "recall": r, "f1": f, "floor_f1": ff, "beats_floor": f > ff})
    return [calibration, *rows]
