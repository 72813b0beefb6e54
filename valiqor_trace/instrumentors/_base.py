"""What every instrumentor shares: instrument/uninstrument, version checks, unwrap, suppression."""

from __future__ import annotations

import importlib.metadata
import threading
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from opentelemetry import trace

from valiqor_trace.internal import VERSION, is_instrumentation_suppressed, log_once

__all__ = ["BaseInstrumentor", "is_instrumentation_suppressed", "unwrap"]


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


def unwrap(owner: Any, attribute: str) -> None:
    """Put back the original of a wrapt-wrapped ``owner.attribute`` (no-op if it is not wrapped)."""
    # From the owner's own __dict__: getattr on a class would hand back a *bound* wrapper, whose
    # __wrapped__ is a bound object too when the original is itself a decorator (e.g. LlamaIndex's).
    current = vars(owner).get(attribute) if hasattr(owner, "__dict__") else getattr(owner, attribute, None)
    original = getattr(current, "__wrapped__", None)
    if original is not None:
        setattr(owner, attribute, original)
