"""Embeddings (``embeddings.create``): the input text is recorded, the vectors never are."""

from __future__ import annotations

from typing import Any

from valiqor_trace.instrumentors.openai._call import Endpoint
from valiqor_trace.instrumentors.openai._common import base_attributes, given, put
from valiqor_trace.internal import ContentPolicy
from valiqor_trace.attributes import (
    GEN_AI_EMBEDDINGS_DIMENSION_COUNT,
    GEN_AI_REQUEST_ENCODING_FORMATS,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_USAGE_INPUT_TOKENS,
    INPUT,
    SPAN_KIND,
)


def embeddings_request_attributes(resource: Any, kwargs: dict[str, Any], policy: ContentPolicy) -> dict[str, Any]:
    attributes = base_attributes(resource, "embeddings")
    attributes[SPAN_KIND] = "embedding"
    put(attributes, GEN_AI_REQUEST_MODEL, given(kwargs, "model"))
    encoding_format = given(kwargs, "encoding_format")
    if isinstance(encoding_format, str):
        attributes[GEN_AI_REQUEST_ENCODING_FORMATS] = [encoding_format]
    put(attributes, GEN_AI_EMBEDDINGS_DIMENSION_COUNT, given(kwargs, "dimensions"))
    if policy.capture:
        # valiqor.input: the text that was embedded (a string, or JSON for a batch / token ids).
        put(attributes, INPUT, policy.text(given(kwargs, "input")))
    return attributes


def record_embeddings_response(attributes: dict[str, Any], response: Any, policy: ContentPolicy) -> None:
    put(attributes, GEN_AI_RESPONSE_MODEL, getattr(response, "model", None))
    usage = getattr(response, "usage", None)
    put(attributes, GEN_AI_USAGE_INPUT_TOKENS, getattr(usage, "prompt_tokens", None))
    data = getattr(response, "data", None) or ()
    if data:
        vector = getattr(data[0], "embedding", None)
        if isinstance(vector, list):  # base64-encoded vectors arrive as a string; their size is not known here
            attributes[GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = len(vector)


EMBEDDINGS = Endpoint("embeddings", "embedding", embeddings_request_attributes, record_embeddings_response)
