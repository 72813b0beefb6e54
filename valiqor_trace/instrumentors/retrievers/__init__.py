"""Retriever instrumentation beyond LangChain (LangChain retrievers are covered by ``valiqor_trace.instrumentors.langchain``).

- :mod:`valiqor_trace.instrumentors.retrievers.llama_index`: LlamaIndex ``BaseRetriever.retrieve``/``aretrieve``.
- Hand-written retrieval functions: ``@valiqor_trace.retriever("name")``.

Every retrieval span follows the one convention in :mod:`valiqor_trace._retriever`.
"""
