"""OpenAI SDK instrumentation: chat completions, Responses, embeddings, legacy completions.

``valiqor_trace.init()`` switches it on when ``openai`` is installed. Modules,
one concern each:

- ``_instrumentor``: what is wrapped (as data) and how it is put back.
- ``_patch``: the sync/async wrapper closures and the span lifecycle around a call.
- ``_call``: one call's span, ended exactly once, with errors recorded.
- ``_streams``: transparent proxies for ``Stream`` / ``AsyncStream``.
- ``_raw``: ``with_raw_response`` / ``with_streaming_response`` results.
- ``_chat``, ``_responses``, ``_embeddings``, ``_completions``: attribute extraction per API.
- ``_messages``: OpenAI messages and tools -> GenAI semantic-convention JSON.
"""

from __future__ import annotations

from valiqor_trace.instrumentors.openai._instrumentor import OpenAIInstrumentor

__all__ = ["OpenAIInstrumentor"]
