"""The distribution's version (``pyproject.toml`` says the same), in the core so that every layer can read it."""

from __future__ import annotations

__version__ = "0.1.0"
