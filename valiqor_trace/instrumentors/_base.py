"""What every instrumentor shares: instrument/uninstrument, version checks, unwrap, suppression."""

from __future__ import annotations

import functools
import importlib.metadata
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import FunctionType
from typing import Any, ClassVar

from opentelemetry import trace

from valiqor_trace.internal import VERSION, is_instrumentation_suppressed, log_once

__all__ = ["BaseInstrumentor", "is_instrumentation_suppressed", "is_patched", "patch", "unwrap"]

PATCHED = "__valiqor_patched__"  # marks a replacement put in place by patch()


class BaseInstrumentor(ABC):
    """Instrument one library. Instrumenting twice warns and does nothing.

    Subclasses declare ``name``, ``library`` (the distribution) and
    ``supported_versions`` (a PEP 440 specifier), and implement ``_instrument``
    and ``_uninstrument``.
    """

    name: ClassVar[str]
    library: ClassVar[str]
    supported_versions: ClassVar[str]
    _lock = threading.Lock()

    def __init__(self) -> None:
        self._instrumented = False
        self.tracer: trace.Tracer | None = None

    @property
    def is_instrumented(self) -> bool:
        return self._instrumented

    def instrument(self, *, tracer_provider: Any = None, **options: Any) -> bool:
        """Wrap the library's calls; return True when instrumentation is now on."""
        with self._lock:
            if self._instrumented:
                log_once(f"twice:{self.name}", "valiqor-trace: %s is already instrumented", self.name)
                return True
            if not self._version_supported():
                return False
            self.tracer = trace.get_tracer(f"valiqor_trace.instrumentors.{self.name}", VERSION,
                                           tracer_provider=tracer_provider)
            self._instrument(tracer_provider=tracer_provider, **options)
            self._instrumented = True
            return True

    def uninstrument(self) -> None:
        """Restore the library's original methods."""
        with self._lock:
            if not self._instrumented:
                return
            self._uninstrument()
            self._instrumented = False

    def installed_version(self) -> str | None:
        try:
            return importlib.metadata.version(self.library)
        except importlib.metadata.PackageNotFoundError:
            return None

    def _version_supported(self) -> bool:
        version = self.installed_version()
        if version is None:
            return True  # vendored or editable installs carry no metadata; try anyway
        try:
            from packaging.specifiers import SpecifierSet
        except ImportError:
            return True
        if version in SpecifierSet(self.supported_versions, prereleases=True):
            return True
        log_once(f"version:{self.name}", "valiqor-trace: %s %s is outside the supported range %s; not instrumented",
                 self.library, version, self.supported_versions)
        return False

    @abstractmethod
    def _instrument(self, *, tracer_provider: Any = None, **options: Any) -> None: ...

    @abstractmethod
    def _uninstrument(self) -> None: ...


def patch(owner: Any, attribute: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    """Replace ``owner.attribute`` by the plain function ``make(original)``; :func:`unwrap` puts it back.

    For functions a library calls many times per request (LangChain configures callbacks and
    prepares a context about ten times each per chain request): a ``wrapt`` wrapper costs
    ~1.5 µs a call, a plain function ~0.3 µs.
    ``make`` gets the original with the same calling convention as the replacement
    (``self`` first for a method). The replacement carries the original's name, docstring and
    ``__wrapped__`` (so ``inspect.signature`` sees the original's signature).
    """
    original = vars(owner)[attribute]
    call: Callable[..., Any] = original
    if isinstance(owner, type) and not isinstance(original, FunctionType):
        # Someone else's wrapper (a descriptor, e.g. wrapt's): bind it per call, as attribute access would.
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            return original.__get__(self, type(self))(*args, **kwargs)
    replacement = make(call)
    functools.update_wrapper(replacement, original)
    setattr(replacement, PATCHED, True)
    setattr(owner, attribute, replacement)


def is_patched(value: Any) -> bool:
    """Whether ``value`` is a replacement put in place by :func:`patch`."""
    return getattr(value, PATCHED, False) is True


def unwrap(owner: Any, attribute: str) -> None:
    """Put back the original of a wrapt-wrapped or :func:`patch`-ed ``owner.attribute`` (no-op if it is neither)."""
    # From the owner's own __dict__: getattr on a class would hand back a *bound* wrapper, whose
    # __wrapped__ is a bound object too when the original is itself a decorator (e.g. LlamaIndex's).
    current = vars(owner).get(attribute) if hasattr(owner, "__dict__") else getattr(owner, attribute, None)
    original = getattr(current, "__wrapped__", None)
    if original is not None:
        setattr(owner, attribute, original)
