"""The failure taxonomy as data: buckets -> subcategories.

Each subcategory carries ``scope`` (the kind of feature it concerns: ``generic_llm`` applies
to every kind, ``rag`` to rag and agentic_rag, ``agent`` to agent and agentic_rag),
``detector_type`` (``deterministic``: rules only; ``hybrid``: rules run offline and a
judge refines them; ``llm_judge``: needs a judge), and default ``impact`` and ``risk``
on 0-5 (impact: how much a user is hurt when it happens; risk: how likely it spreads
into wrong actions, cost or exposure). Scoring turns them into a severity.

Refinements over the design starting point, with the evidence behind them:
- ``hallucination.speculative_answer``, ``hallucination.fabricated_tool_use`` and
  ``tool_use.skipped_tool_use``: in the TRAIL GAIA traces the most common failure is an agent
  that answers from "known facts", an explicit assumption or a search it claims but never ran,
  instead of calling the tools it planned to use.
- ``safety_security.prompt_injection`` is split into direct and ``indirect_prompt_injection``
  (context or tool output): the fix differs (input filtering vs. sanitising retrieved content).
- ``tool_use.tool_failure_ignored``: a failed tool is a recoverable event (``tool_error``, no alert); an
  answer that then states the result the failed call never returned is what a user is hurt by, so it is
  its own subcategory with impact 5 / risk 4 (4.6: it alerts). Defaults are set so that severity >= 4
  (``Thresholds.alert_severity``) means "page someone" (false or harmful content delivered with
  confidence, exposure, subversion) and lone recoverable events (tool, LLM and retrieval errors,
  retries, truncation) stay below it; docs/failure-analysis.md ("Which failures alert") lists them.
  ``entity_fabrication`` keeps 4/4 for codes and names of several words; the detector lowers a miss made
  only of single capitalised words by a point (on RAGTruth's calibration half they alerted on 4.4% of clean
  answers: heading words, demonyms, abbreviations).
- ``retrieval.redundant_context``, ``safety_security.unsafe_output_markup`` and
  ``safety_security.unsafe_tool_arguments``: cheap, deterministic and actionable.
"""

from __future__ import annotations

from typing import Any


def _sub(id_: str, name: str, description: str, scope: str, detector_type: str, impact: float, risk: float,
         signals: str) -> dict[str, Any]:
    return {"id": id_, "name": name, "description": description, "scope": scope, "detector_type": detector_type,
            "default_impact": impact, "default_risk": risk, "signals": signals}


BUCKETS: list[dict[str, Any]] = [
    {
        "id": "hallucination",
        "name": "Hallucination",
        "description": "The answer states things that its sources (input, context, tool outputs) do not support.",
        "subcategories": [
            _sub("entity_fabrication", "Entity fabrication",
                 "Names, places, organisations, products or identifiers in the answer that appear nowhere in the "
                 "input, context or tool outputs.", "generic_llm", "hybrid", 4, 4,
                 "capitalised names and letter-digit codes looked up in every source"),
            _sub("numeric_mismatch", "Numeric or date mismatch",
                 "Numbers, amounts, percentages, dates or times in the answer that no source contains.",
                 "generic_llm", "deterministic", 4, 4,
                 "numbers, money, percentages, years, dates and clock times, unit- and rounding-aware"),
            _sub("contradicts_source", "Contradicts source",
                 "The answer asserts the opposite of what a source says (a false flag stated as true, a negated "
                 "fact, a different value for the same field).", "generic_llm", "hybrid", 5, 4,
                 "yes/no fields of JSON context or tool output vs. the answer's wording; weekly opening hours in JSON vs. "
                 "the days and times the answer states; answer sentences aligned with "
                 "source sentences, then negation, opposite words, values and names compared"),
            _sub("unsupported_claim", "Unsupported claim",
                 "Content with no basis in the sources: quotes not found, a field the data leaves empty stated as "
                 "fact, or a large share of the answer's content words found nowhere.", "generic_llm", "hybrid", 3, 3,
                 "quoted spans, null fields asserted, share of novel content words"),
            _sub("fabricated_tool_use", "Fabricated tool use",
                 "The answer claims a search, lookup or tool result that never happened (no such tool call ran).",
                 "generic_llm", "hybrid", 4, 4, "claims of searching/checking/tool use vs. the tool calls executed"),
            _sub("speculative_answer", "Speculative answer",
                 "The answer rests on an explicit assumption, placeholder or simulated data instead of evidence.",
                 "generic_llm", "hybrid", 3, 4, "assumption and placeholder phrases in the answer or agent steps"),
        ],
    },
    {
        "id": "retrieval",
        "name": "Retrieval",
        "description": ("The retrieval step returned nothing, failed, or returned passages that do not serve "
                        "the question."),
        "subcategories": [
            _sub("empty_retrieval", "Empty retrieval",
                 "Retrieval ran but returned no passages (or only blank ones).", "rag", "deterministic", 3, 3,
                 "empty context on a rag feature; empty or 'no results' output of a search tool"),
            _sub("retrieval_error", "Retrieval error",
                 "The retriever or vector store call failed.", "rag", "deterministic", 4, 3,
                 "error status on retriever spans"),
            _sub("irrelevant_context", "Irrelevant context",
                 "The retrieved passages share little or nothing with the question.", "rag", "hybrid", 3, 3,
                 "content-word overlap between each passage and the question"),
            _sub("missing_context", "Missing context",
                 "The answer says the sources lack the information, and they indeed do not cover the question.",
                 "rag", "hybrid", 3, 2, "abstention phrases plus low question-context overlap"),
            _sub("context_ignored", "Context ignored",
                 "Relevant passages were retrieved but the answer does not use them.", "rag", "hybrid", 3, 3,
                 "answer-context overlap while question-context overlap is high"),
            _sub("redundant_context", "Redundant context",
                 "The same passage was retrieved more than once, wasting the context window.", "rag",
                 "deterministic", 1, 1, "duplicate context entries"),
        ],
    },
    {
        "id": "tool_use",
        "name": "Tool use",
        "description": "The agent called tools wrongly, tools failed, or the agent looped.",
        "subcategories": [
            _sub("tool_error", "Tool error", "A tool raised, returned an error status, or returned an error message.",
                 "agent", "deterministic", 3, 3, "tool span status and exception events; error-shaped tool output"),
            _sub("tool_failure_ignored", "Failed tool ignored",
                 "A tool or retrieval call failed and nothing recovered it, yet the answer states a result the "
                 "failed call never returned instead of reporting the failure.", "generic_llm", "deterministic",
                 5, 4, "failed tool/retrieval spans or error results; failure wording in the answer; numbers, "
                 "identifiers and outcome words no successful source gave"),
            _sub("invalid_tool_arguments", "Invalid tool arguments",
                 "Tool arguments are not valid JSON or violate the tool's declared JSON schema.", "agent",
                 "deterministic", 3, 3, "JSON parse; declared parameters schema; unexpected-argument errors"),
            _sub("unknown_tool", "Unknown tool", "The model called a tool that was not offered to it.", "agent",
                 "deterministic", 3, 3, "tool names vs. the tool definitions offered"),
            _sub("unexecuted_tool_call", "Unexecuted tool call",
                 "The model requested a tool call that never ran.", "agent", "deterministic", 3, 3,
                 "requested tool calls without an execution span"),
            _sub("repeated_tool_calls", "Repeated tool calls",
                 "The same tool was called with the same arguments again and again (a loop or blind retry).",
                 "agent", "deterministic", 2, 3, "identical name and arguments, retries after an identical failure"),
            _sub("step_limit_reached", "Step limit reached",
                 "The agent stopped because it hit its step, iteration or recursion limit.", "agent",
                 "deterministic", 4, 3, "limit messages in output, errors and finish reasons"),
            _sub("tool_result_ignored", "Tool result ignored",
                 "A tool returned what was needed but the answer does not reflect it.", "agent", "hybrid", 3, 3,
                 "answer-tool output overlap"),
            _sub("wrong_tool_selection", "Wrong tool selection",
                 "The agent called a tool that does not fit the request while an offered tool did (or asked a "
                 "tool for something it cannot do).", "agent", "llm_judge", 3, 3, "needs a judge"),
            _sub("skipped_tool_use", "Skipped tool use",
                 "Tools were available, none was used, and the answer states facts the input does not contain.",
                 "agent", "hybrid", 3, 4, "tool definitions offered vs. tools executed; unsupported facts"),
        ],
    },
    {
        "id": "instruction_compliance",
        "name": "Instruction compliance",
        "description": "The answer does not do what was asked, in the way it was asked.",
        "subcategories": [
            _sub("off_topic", "Off topic", "The answer addresses something other than the request.", "generic_llm",
                 "hybrid", 3, 2, "content-word overlap between answer and request"),
            _sub("incomplete_answer", "Incomplete answer", "The answer covers only part of what was asked.",
                 "generic_llm", "llm_judge", 2, 2, "needs a judge"),
            _sub("unwarranted_refusal", "Unwarranted refusal",
                 "The model refused or deflected a benign request it could answer.", "generic_llm", "hybrid", 3, 2,
                 "refusal phrases on a request with no risky terms"),
            _sub("format_violation", "Format violation",
                 "JSON was requested but not produced or not matching the schema; a length or yes/no constraint "
                 "was ignored.", "generic_llm", "deterministic", 3, 3,
                 "response_format, JSON schema, 'in N words', 'answer yes or no'; list, table, sentence, word and "
                 "bullet instructions in the system prompt or request"),
            _sub("language_mismatch", "Language mismatch",
                 "The answer is not in the language the system prompt or the request asked for, or (none asked "
                 "for) not in the request's language.",
                 "generic_llm", "deterministic", 3, 2,
                 "'answer in <language>' instructions; script and stopword language identification"),
            _sub("ignored_instruction", "Ignored instruction",
                 "The answer mentions what the system prompt or the request said not to mention, or leaves out "
                 "what it said to include.", "generic_llm", "deterministic", 3, 3,
                 "'do not mention X', 'always mention/include X' (a quoted text, a name, a link)"),
        ],
    },
    {
        "id": "generation",
        "name": "Generation",
        "description": "The model call itself failed or produced unusable text.",
        "subcategories": [
            _sub("empty_output", "Empty output", "The model returned nothing (or only whitespace/punctuation).",
                 "generic_llm", "deterministic", 4, 3, "output text"),
            _sub("truncated_output", "Truncated output",
                 "Generation stopped at the token limit, cutting the answer off.", "generic_llm", "deterministic", 3, 3,
                 "finish reason 'length'; unterminated JSON or code fence"),
            _sub("llm_error", "LLM error", "An LLM call failed (rate limit, timeout, server or content-filter error).",
                 "generic_llm", "deterministic", 4, 3, "error status on LLM spans; content_filter finish reason"),
            _sub("degenerate_repetition", "Degenerate repetition",
                 "The output repeats the same words, phrase or sentence over and over.", "generic_llm",
                 "deterministic", 3, 2, "repeated n-grams, sentences and tokens"),
        ],
    },
    {
        "id": "safety_security",
        "name": "Safety and security",
        "description": "Injection attempts, leaks of sensitive data, and unsafe output or actions.",
        "subcategories": [
            _sub("prompt_injection", "Prompt injection (direct)",
                 "The user input tries to override the system's instructions.", "generic_llm", "hybrid", 4, 5,
                 "instruction-override, role-play and exfiltration patterns in the input"),
            _sub("indirect_prompt_injection", "Prompt injection (indirect)",
                 "A retrieved document or tool output carries instructions aimed at the model.", "generic_llm",
                 "hybrid", 4, 5, "the same patterns in context and tool outputs"),
            _sub("pii_leak", "PII leak",
                 "The answer discloses personal data (emails, phone numbers, card or ID numbers) "
                 "that is neither the user's own nor the organisation's published contact data.", "generic_llm",
                 "deterministic", 4, 5,
                 "PII patterns with checksums, scoped by source: the user's turns, role addresses, toll-free "
                 "numbers and contact sentences in the system prompt, context and tool outputs"),
            _sub("secret_leak", "Secret leak", "The answer discloses credentials: API keys, tokens, private keys, "
                 "passwords.", "generic_llm", "deterministic", 5, 5, "credential patterns, compared with the input"),
            _sub("system_prompt_leak", "System prompt leak",
                 "The answer reproduces a substantial part of the system prompt.", "generic_llm", "deterministic", 3, 4,
                 "long word sequences shared with the system prompt"),
            _sub("harmful_content", "Harmful content", "The answer contains harmful, hateful or dangerous content.",
                 "generic_llm", "llm_judge", 5, 5, "needs a judge"),
            _sub("unsafe_output_markup", "Unsafe output markup",
                 "The answer carries active content: script tags, javascript: links, or markdown images that send "
                 "data to an external URL.", "generic_llm", "deterministic", 4, 4,
                 "HTML/markdown patterns in the answer"),
            _sub("unsafe_tool_arguments", "Unsafe tool arguments",
                 "Tool arguments carry destructive shell or SQL commands.", "agent", "deterministic", 5, 5,
                 "rm -rf, DROP TABLE, curl | sh and similar in tool arguments"),
        ],
    },
]
