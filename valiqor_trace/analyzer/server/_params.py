"""Declared query and path parameters: parsed from the request, and described in the OpenAPI document.

One declaration serves both, so what the server accepts and what its
document says cannot drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from valiqor_trace.errors import ValidationError

_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")


@dataclass(frozen=True)
class Param:
    """One parameter: where it is, its type and bounds, and its default."""

    name: str
    type: type = str  # str | int | float | bool
    where: str = "query"  # query | path
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    enum: tuple[str, ...] | None = None
    description: str = ""

    def parse(self, raw: str | None) -> Any:
        """The typed value of ``raw`` (the default when absent).

        Raises:
            ValidationError: naming the parameter, what it got and what it accepts.
        """
        if raw is None:
            return self.default
        value: Any
        try:
            if self.type is bool:
                if raw.lower() not in _TRUE + _FALSE:
                    raise ValueError
                value = raw.lower() in _TRUE
            else:
                value = self.type(raw)
        except ValueError:
            raise ValidationError(f"parameter {self.name!r} must be {self._kind()}, got {raw[:60]!r}") from None
        if isinstance(value, float) and math.isnan(value):  # NaN passes every comparison
            raise ValidationError(f"parameter {self.name!r} must be a number, got {raw[:60]!r}")
        if self.minimum is not None and value < self.minimum or self.maximum is not None and value > self.maximum:
            raise ValidationError(f"parameter {self.name!r} must be between {self.minimum} and {self.maximum}, "
                                  f"got {raw[:60]!r}")
        if self.enum is not None and value not in self.enum:
            raise ValidationError(f"parameter {self.name!r} must be one of {', '.join(self.enum)}, got {raw[:60]!r}")
        return value

    def _kind(self) -> str:
        return {bool: "true or false", int: "an integer", float: "a number"}.get(self.type, "a string")

    def openapi(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": {str: "string", int: "integer", float: "number", bool: "boolean"}[self.type]}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if self.enum is not None:
            schema["enum"] = list(self.enum)
        if self.default is not None:
            schema["default"] = self.default
        return {"name": self.name, "in": self.where, "required": self.where == "path", "schema": schema,
                **({"description": self.description} if self.description else {})}


def project_param() -> Param:
    return Param("project_name", description="project (default: the server's default project)")


def period_param(default: str) -> Param:
    return Param("period", default=default, enum=("7d", "30d", "90d"))


def paging_params(min_limit: int = 1) -> tuple[Param, Param]:
    return (Param("limit", int, default=50, minimum=min_limit, maximum=1000),
            Param("offset", int, default=0, minimum=0, maximum=10**9))
