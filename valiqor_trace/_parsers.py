"""Value parsers shared by every settings table: ``init()``, ``ValiqorClient``, ``MonitorConfig``.

Each parser takes a raw value (an argument, an environment string or a JSON value from
``.valiqorrc``) and returns the parsed value, or raises ``ValueError`` saying what is wrong
and how to fix it. Messages do not repeat the value: the caller names the setting and shows
the value itself, unless the setting is secret (keys, headers, webhook URLs).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any, cast
from urllib.parse import unquote, urlsplit, urlunsplit

KNOWN_EXPORTERS = ("store", "otlp", "console", "none")
KNOWN_PROTOCOLS = ("http/protobuf", "grpc")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
# host[:port][/path] with no scheme: what people type for a URL ("localhost:4318"); we suggest http:// + it.
_HOST_LIKE = re.compile(r"^[\w.\-]+(:\d+)?(/\S*)?$")
# RFC 9110 token characters: what an HTTP header name may hold.
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# A word this long in an invalid header name is likely a key: 'Authorization: Bearer sk-...==' written in the
# 'name: value' form puts everything before the key's '=' padding into the name.
_KEY_LIKE_WORD = 20
# user:password@ at the start of a URL's authority (with or without the scheme people forget); the password runs
# to the authority's last '@' (one typed unencoded is still all masked).
_URL_PASSWORD = re.compile(r"(^|://)([^/@\s:]*):[^/\s]*@")
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&\s]*", re.IGNORECASE)  # libpq URLs may carry it there


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError("expected true or false (or 1/0, yes/no, on/off)")


def parse_rate(value: Any) -> float:
    if isinstance(value, bool) or not 0.0 <= float(value) <= 1.0:
        raise ValueError("expected a number between 0 and 1")
    return float(value)


def parse_positive_int(value: Any) -> int:
    if isinstance(value, bool) or int(value) <= 0:
        raise ValueError("expected a positive whole number")
    return int(value)


def parse_count(value: Any) -> int:
    if isinstance(value, bool) or int(value) < 0:
        raise ValueError("expected a whole number >= 0")
    return int(value)


def parse_seconds(value: Any) -> float:
    if isinstance(value, bool) or not math.isfinite(float(value)) or float(value) < 0:
        raise ValueError("expected a number of seconds >= 0")
    return float(value)


def parse_days(value: Any) -> float:
    """A retention in days: a number above 0 (fractions allowed: 0.5 is 12 hours)."""
    try:
        days = float(value)
    except (TypeError, ValueError):
        days = math.nan
    if isinstance(value, bool) or not math.isfinite(days) or days <= 0:
        raise ValueError("expected a number of days > 0")
    return days


_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dhm])\s*$", re.IGNORECASE)
_AGE_UNIT_NS = {"d": 86_400 * 10**9, "h": 3_600 * 10**9, "m": 60 * 10**9}


def parse_age_ns(value: str) -> int:
    """An age such as ``30d``, ``12h`` or ``90m`` (days, hours, minutes), in ns."""
    match = _AGE.match(value)
    if not match or float(match.group(1)) <= 0:
        raise ValueError("expected a number above 0 and a unit, d (days), h (hours) or m (minutes), e.g. 30d")
    return int(float(match.group(1)) * _AGE_UNIT_NS[match.group(2).lower()])


def parse_str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a non-empty string, got {type(value).__name__}")
    if not value.strip():
        raise ValueError("expected a non-empty string, got an empty one")
    return value.strip()


def parse_url(value: Any, *, example: str = "http://localhost:4318", echo: bool = True) -> str:
    """An ``http(s)://host[:port][/path]`` URL, as given.

    Args:
        example: a URL of the right kind, suggested in the error.
        echo: build the suggestion from the value (``'localhost:4318'`` -> ``'http://localhost:4318'``);
            False for URLs that may carry a secret (webhooks).
    """
    text = parse_str(value)
    if "://" not in text:
        hint = f"http://{text}" if echo and _HOST_LIKE.match(text) else example
        raise ValueError(f"not a URL; give a scheme and host, e.g. {hint!r}")
    scheme = text.split("://", 1)[0].lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"scheme {scheme!r} is not supported; use http:// or https://, e.g. {example!r}")
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise ValueError(f"not a URL: it has a space or a control character; e.g. {example!r}")
    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # a bad port, or an unbalanced [IPv6] host
        parts, port_ok = urlsplit(text.replace("[", "").replace("]", "")), False
    if not parts.hostname:
        raise ValueError(f"not a URL: no host; give a scheme and host, e.g. {example!r}")
    if not port_ok:
        raise ValueError(f"not a URL: the port must be a number from 1 to 65535, e.g. {example!r}")
    return text


def url_parser(example: str, *, echo: bool = True) -> Callable[[Any], str]:
    """A :func:`parse_url` for one setting, with that setting's example in its errors."""
    def parse(value: Any) -> str:
        return parse_url(value, example=example, echo=echo)

    return parse


def _path_text(value: Any) -> str:
    text = parse_str(os.fspath(value) if isinstance(value, os.PathLike) else value)
    if "\0" in text:
        raise ValueError("has a NUL character; give a plain path")
    return text


def _check_creatable(folder: str) -> None:
    """Nothing can be created under ``folder`` when its nearest existing ancestor is a file."""
    current = folder
    while not os.path.exists(current):
        parent = os.path.dirname(current)
        if parent == current:
            return
        current = parent
    if not os.path.isdir(current):
        raise ValueError(f"cannot be created: {current!r} is a file")


def file_path_parser(example_name: str) -> Callable[[Any], str]:
    """A parser for the path of a file we create (a SQLite store); ``example_name`` is suggested in errors."""
    def parse(value: Any) -> str:
        text = _path_text(value)
        if os.path.isdir(text):
            raise ValueError(f"is a directory; give the path of a file in it, "
                             f"e.g. {os.path.join(text, example_name)!r}")
        _check_creatable(os.path.dirname(os.path.abspath(text)))
        return text

    return parse


def parse_dir_path(value: Any) -> str:
    """The path of a directory we create if needed (``home``)."""
    text = _path_text(value)
    if os.path.exists(text) and not os.path.isdir(text):
        example = os.path.join(os.path.dirname(text) or ".", ".valiqor")
        raise ValueError(f"is a file, not a directory; give a directory, e.g. {example!r}")
    _check_creatable(os.path.abspath(text))
    return text


def parse_headers(value: Any) -> dict[str, str]:
    """HTTP headers: a mapping, or ``'name=value,name2=value2'`` (the OTEL_EXPORTER_OTLP_HEADERS form).

    Errors name the header, never its value (headers carry keys).
    """
    if isinstance(value, str):
        pairs = _header_pairs(value)
    elif isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        raise ValueError(f"expected a mapping of header names to values, got {type(value).__name__}")
    return dict(_checked_header(name, header_value) for name, header_value in pairs)


def _header_pairs(text: str) -> list[tuple[str, str]]:
    pairs = []
    for number, part in enumerate((p for p in text.split(",") if p.strip()), start=1):
        name, equals, header_value = part.partition("=")
        if not equals:
            raise ValueError(f"entry {number} has no '='; expected 'name=value,name2=value2'")
        pairs.append((name.strip(), header_value.strip()))
    return pairs


def without_password(text: str) -> str:
    """``text`` with the password of a URL's ``user:password@`` masked: a URL setting is shown in messages
    (what is wrong with it), and a collector's basic-auth password must not reach a log with it."""
    return _QUERY_PASSWORD.sub(r"\1...", _URL_PASSWORD.sub(r"\1\2:...@", text))


def parse_database_url(value: Any) -> str:
    """A PostgreSQL URL (``postgresql://user@host:5432/db``): where the stores live instead of SQLite files."""
    text = parse_str(value)
    if not text.lower().startswith(("postgresql://", "postgres://")):
        raise ValueError("is not a postgresql:// URL (e.g. 'postgresql://valiqor@db:5432/valiqor'); "
                         "leave it unset for the embedded SQLite stores")
    return text


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``url`` without its ``user:password@``, and that (user, password), percent-decoded.

    For HTTP clients: given as ``auth``, the credentials authenticate exactly as in the URL (basic auth),
    and the URL the client sends and logs (httpx logs every request's URL at INFO) carries no password.
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=host)), (unquote(user), unquote(password))


def repr_without_passwords(obj: Any) -> str:
    """A dataclass's ``repr`` (fields declared ``repr=False`` left out) with URL passwords masked: settings
    objects hold URLs that may carry ``user:password@``, and their ``repr`` ends up in logs and tracebacks."""
    shown = ", ".join(f"{f.name}={_masked(getattr(obj, f.name))!r}" for f in fields(obj) if f.repr)
    return f"{type(obj).__name__}({shown})"


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return without_password(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    return value


def shown_header_name(name: Any) -> Any:
    """A header name as a message shows it: a valid one whole; an invalid one cut at its first ':' and
    without key-like words, since a value written in the wrong form may have landed in the name."""
    if not isinstance(name, str) or _HEADER_NAME.match(name):
        return name
    head, colon, _ = name.partition(":")
    words = [word if len(word) < _KEY_LIKE_WORD else "..." for word in head.split()]
    return " ".join(words) + (": ..." if colon else "")


def _checked_header(name: Any, value: Any) -> tuple[str, str]:
    if not isinstance(name, str) or not _HEADER_NAME.match(name):
        hint = "; write 'name=value', not 'name: value'" if isinstance(name, str) and ":" in name else ""
        raise ValueError(f"{shown_header_name(name)!r} is not a valid HTTP header name (letters, digits and "
                         f"!#$%&'*+-.^_`|~ only){hint}")
    if value is None:
        raise ValueError(f"header {name!r} has no value (None); pass a string (is the variable holding the "
                         "key set?)")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"header {name!r}: expected a string value, got {type(value).__name__}")
    text = str(value)
    if any(not ch.isprintable() and ch != "\t" for ch in text):
        raise ValueError(f"header {name!r} has a line break or control character in its value; remove it "
                         "(a key read from a file often ends in a newline)")
    if not text.isascii():
        raise ValueError(f"header {name!r} has non-ASCII characters in its value, which HTTP headers cannot "
                         "carry; check that the key was copied whole and nothing else")
    if text != text.strip():
        raise ValueError(f"header {name!r} has spaces around its value; strip them")
    return name, text


def parse_protocol(value: Any) -> str:
    text = parse_str(value).lower()
    if text == "http":
        text = "http/protobuf"
    if text not in KNOWN_PROTOCOLS:
        raise ValueError(f"expected one of {', '.join(KNOWN_PROTOCOLS)}")
    return text


def split_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise ValueError(f"expected a list or a comma-separated string, got {type(value).__name__}")


def parse_exporters(value: Any) -> list[Any]:
    """Names from KNOWN_EXPORTERS, or SpanExporter / SpanProcessor objects (arguments only)."""
    items = [value] if not isinstance(value, (str, list, tuple)) else split_list(value)
    for item in items:
        if isinstance(item, str) and item not in KNOWN_EXPORTERS:
            raise ValueError(f"unknown exporter {item!r}; expected one of {', '.join(KNOWN_EXPORTERS)} "
                             "or a SpanExporter/SpanProcessor instance")
        if not isinstance(item, str) and not (hasattr(item, "export") or hasattr(item, "on_end")):
            raise ValueError(f"exporter {item!r} is neither a name nor a SpanExporter/SpanProcessor")
    return items


def parse_instrument(value: Any) -> bool | list[str]:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("auto", "all") + _TRUE:
        return True
    if isinstance(value, str) and value.strip().lower() in ("none",) + _FALSE:
        return False
    names = [str(name).strip() for name in split_list(value)]
    if not all(names):
        raise ValueError("expected 'auto', False, or a list of integration names")
    return names


def parse_callable(value: Any) -> Callable[[str], str]:
    if not callable(value):
        raise ValueError("expected a callable taking and returning a string")
    return cast("Callable[[str], str]", value)


def parse_mapping(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a mapping, got {type(value).__name__}")
    return dict(value)


def parse_monitor(value: Any) -> Any:
    from valiqor_trace.monitor._config import parse_monitor as parse  # the monitor is imported only when used

    return parse(value)
