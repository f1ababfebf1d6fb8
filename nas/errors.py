"""Errors that point at the file, layer and field a user has to fix."""

from __future__ import annotations


class NasError(Exception):
    """Base class for user-facing errors: the CLI prints them without a traceback."""


class SpecError(NasError, ValueError):
    """A malformed architecture description, DSL string, YAML file or search space.

    The message always names where the problem is: ``file``, ``layer`` (stage.block
    or a flat layer index) and ``field`` when known.
    """

    def __init__(self, message: str, *, file: str | None = None, layer: str | None = None,
                 field: str | None = None):
        self.file, self.layer, self.field, self.reason = file, layer, field, message
        where = [f"{k} {v}" for k, v in (("file", file), ("layer", layer), ("field", field)) if v]
        super().__init__(f"{'; '.join(where)}: {message}" if where else message)

    def at(self, *, file: str | None = None, layer: str | None = None,
           field: str | None = None) -> "SpecError":
        """Return a copy with missing location parts filled in (inner details win)."""
        return SpecError(self.reason, file=self.file or file, layer=self.layer or layer,
                         field=self.field or field)
