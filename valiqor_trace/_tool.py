"""``@valiqor_trace.tool``: an ``execute_tool {name}`` span around a function the app runs as a tool.

LangChain tools are traced by the LangChain instrumentor; an app that runs the model's tool calls
itself (an OpenAI SDK loop: read ``message.tool_calls``, call a function, send the result back)
decorates those functions instead. The span uses the GenAI keys the LangChain tool spans use
(``gen_ai.operation.name=execute_tool``, ``gen_ai.tool.name``, ``gen_ai.tool.call.arguments`` and
``gen_ai.tool.call.result`` as content), so the analyzer joins it with the model's request by name
and arguments and sees a tool that raised as a failed tool call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

from valiqor_trace._workflow import _decorate
from valiqor_trace.attributes import (
    GEN_AI_OPERATION_NAME,
    GEN_AI_TOOL_CALL_ARGUMENTS,
    GEN_AI_TOOL_CALL_RESULT,
    GEN_AI_TOOL_DESCRIPTION,
    GEN_AI_TOOL_NAME,
    GEN_AI_TOOL_TYPE,
)

F = TypeVar("F", bound=Callable[..., Any])



@overload
def tool(name: F, /) -> F: ...
@overload
def tool(name: str | None = None, /, *, description: str | None = None) -> Callable[[F], F]: ...


def tool(name: Any = None, /, *, description: str | None = None) -> Any:
    """Decorator: an ``execute_tool {name}`` span around each call of a tool function.

    Records the arguments and the return value (content policy applies: capture, redaction, caps);
    an exception is recorded on the span and reaches the caller unchanged. ``name`` is the tool's
    name as the model knows it (default: the function's name). Plain, ``async`` and generator
    functions work.

    Example:
        @valiqor_trace.tool("get_weather")
        def get_weather(city: str) -> str:
            ...

        for call in message.tool_calls:
            result = get_weather(**json.loads(call.function.arguments))
    """
    if callable(name):
        return _tool(name, None, description)
    if name is not None and (not isinstance(name, str) or not name):
        raise ValueError("tool(name) takes the tool's name as a non-empty string, e.g. @valiqor_trace.tool('search')")
    if description is not None and not isinstance(description, str):
        raise ValueError(f"tool(description=...) takes a string, got {type(description).__name__}")

    def decorator(func: F) -> F:
        return _tool(func, name, description)
    return decorator


def _tool(func: F, name: str | None, description: str | None) -> F:
    if not callable(func):
        raise ValueError(f"tool() decorates a function; got {type(func).__name__}")
    tool_name = name or getattr(func, "__name__", "tool")
    attributes = {GEN_AI_OPERATION_NAME: "execute_tool", GEN_AI_TOOL_NAME: tool_name, GEN_AI_TOOL_TYPE: "function"}
    if description:
        attributes[GEN_AI_TOOL_DESCRIPTION] = description
    return _decorate(func, f"execute_tool {tool_name}", "tool", attributes, capture_io=True,
                     io_keys=(GEN_AI_TOOL_CALL_ARGUMENTS, GEN_AI_TOOL_CALL_RESULT))
