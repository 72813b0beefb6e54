"""Small readers shared by every OpenAI endpoint: given arguments, the client's server, field access.

The SDK hands us two kinds of values: what the app passed (dicts, lists, pydantic
models, and the SDK's ``NOT_GIVEN``/``omit`` sentinels) and what the API returned
(pydantic models, or plain dicts when we read a raw response's JSON). :func:`field`
reads either, so every extractor works on both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from valiqor_trace.attributes import GEN_AI_OPERATION_NAME, GEN_AI_PROVIDER_NAME, SERVER_ADDRESS, SERVER_PORT

_NotGiven: type | None
_Omit: type | None
try:  # the sentinels the SDK uses for "argument not passed"; names stable since openai 1.0
    from openai._types import NotGiven as _NotGiven
except ImportError:  # pragma: no cover - depends on the installed SDK
    _NotGiven = None
try:
    from openai._types import Omit as _Omit
except ImportError:  # pragma: no cover
    _Omit = None

SENTINELS: tuple[type, ...] = tuple(t for t in (_NotGiven, _Omit) if t is not None)

OPENAI = "openai"
AZURE_OPENAI = "azure.ai.openai"


def given(kwargs: Mapping[str, Any], key: str) -> Any:
    """The argument ``key`` as the app passed it, or None when absent, None, or an SDK sentinel."""
    value = kwargs.get(key)
    if value is None or isinstance(value, SENTINELS):
        return None
    return value


def field(value: Any, name: str) -> Any:
    """``value[name]`` for dicts, ``value.name`` for objects; None when missing."""
    if isinstance(value, dict):
        return value.get(name)
    return getattr(value, name, None)


def as_list(value: Any) -> list[Any] | None:
    """``value`` if it can be read without consuming it (list or tuple), else None.

    The SDK accepts any iterable for ``messages``, ``tools`` and ``input``; a
    generator must reach the SDK untouched, so we only look at real sequences.
    """
    if isinstance(value, (list, tuple)):
        return value if isinstance(value, list) else list(value)
    return None


_provider_by_client_class: dict[type, str] = {}


def provider_of(resource: Any) -> str:
    """``azure.ai.openai`` for Azure clients, ``openai`` for everything else (incl. custom base_url)."""
    client_class = type(getattr(resource, "_client", None))
    provider = _provider_by_client_class.get(client_class)
    if provider is None:
        # Azure clients are the SDK's own subclasses; matching by name avoids importing them here.
        azure = any(klass.__name__ in ("AzureOpenAI", "AsyncAzureOpenAI") for klass in client_class.__mro__)
        provider = _provider_by_client_class[client_class] = AZURE_OPENAI if azure else OPENAI
    return provider


# Per client (its class and base_url object): provider and server attributes never change,
# and reading them from httpx's URL on every call is measurable. Bounded: apps have few clients.
_server_cache: dict[int, tuple[Any, type, dict[str, Any]]] = {}


def base_attributes(resource: Any, operation: str) -> dict[str, Any]:
    """Operation, provider and server attributes every OpenAI span carries (a fresh dict)."""
    client = getattr(resource, "_client", None)
    # ``_base_url`` is what the public ``base_url`` property returns (every SDK since 1.0), and what
    # its setter replaces; openai 3.x's property runs an import statement on each read (~1 µs).
    url = getattr(client, "_base_url", None)
    if url is None:
        url = getattr(client, "base_url", None)
    cached = _server_cache.get(id(url))
    if cached is None or cached[0] is not url or cached[1] is not type(client):
        cached = (url, type(client), _server_attributes(resource, url))
        if len(_server_cache) >= 64:
            _server_cache.clear()
        _server_cache[id(url)] = cached  # holding ``url`` keeps its id from being reused
    attributes = cached[2].copy()
    attributes[GEN_AI_OPERATION_NAME] = operation
    return attributes


def _server_attributes(resource: Any, url: Any) -> dict[str, Any]:
    provider = provider_of(resource)
    attributes: dict[str, Any] = {GEN_AI_PROVIDER_NAME: provider}
    host = getattr(url, "host", None)
    if host:
        attributes[SERVER_ADDRESS] = host
        port = getattr(url, "port", None)
        if port:
            attributes[SERVER_PORT] = port
    return attributes


def put(attributes: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` when ``value`` is a real value (not None / sentinel)."""
    if value is not None and not isinstance(value, SENTINELS):
        attributes[key] = value


def stop_sequences(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return list(value)
    return None
