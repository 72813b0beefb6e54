"""Failure Analysis: taxonomy, deterministic detectors, judge seam, scoring and run summary.

Entry points: :mod:`valiqor_trace.analyzer.fa.engine` (``analyze_item``, ``summarize``),
:mod:`valiqor_trace.analyzer.fa.options` (``FailureAnalysisOptions``, the options of a run, defined once) and
:mod:`valiqor_trace.analyzer.fa.taxonomy` (``get_taxonomy`` and friends). Nothing here touches the
network; the LLM judge is injected through :class:`valiqor_trace.analyzer.fa.judge.Judge`.
"""
