"""Typed, located access to the YAML mappings of the use-case and sweep catalogues.

Every failure is a CatalogError naming the file, the line of the offending key and its key path.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, NoReturn

from huntbrief.catalog.datafile import key_line
from huntbrief.errors import CatalogError


def read_text(path: Path) -> str:
    """The UTF-8 text of a catalogue file; CatalogError naming the file when it can't be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"cannot read: {exc}", location=str(path)) from exc


class YamlReader:
    """Typed access to one YAML mapping, raising CatalogError with the file and key path."""

    def __init__(self, data: object, location: str, path: str = "", text: str = "") -> None:
        self.location, self.path, self.source = location, path, text
        if not isinstance(data, Mapping):
            self.fail("must be a mapping")
        self.data: Mapping[str, Any] = data

    def fail(self, message: str, key: str | None = None) -> NoReturn:
        """Raise CatalogError for `key` (or this mapping), located at file:line when the line is known."""
        where = ".".join(p for p in (self.path, key or "") if p) or "<top>"
        line = key_line(self.source, re.sub(r"\[\d+\]", "", where.rsplit(".", 1)[-1])) if self.source else 0
        raise CatalogError(
            f"{where}: {message}", location=f"{self.location}:{line}" if line else self.location
        )

    def get(self, key: str) -> Any:
        """The raw value of a required key."""
        if key not in self.data:
            self.fail("is required", key)
        return self.data[key]

    def text(self, key: str) -> str:
        """A required non-empty string, stripped."""
        value = self.get(key)
        if not isinstance(value, str) or not value.strip():
            self.fail("must be a non-empty string", key)
        return value.strip()

    def texts(self, key: str) -> tuple[str, ...]:
        """A required non-empty list of non-empty strings, each stripped."""
        value = self.get(key)
        if not isinstance(value, list) or not value:
            self.fail("must be a non-empty list of strings", key)
        if not all(isinstance(v, str) and v.strip() for v in value):
            self.fail("every entry must be a non-empty string", key)
        return tuple(v.strip() for v in value)

    def choice(self, key: str, allowed: Collection[str]) -> str:
        """A required string that must be one of `allowed`."""
        value = self.text(key)
        if value not in allowed:
            self.fail(f"{value!r} is not one of {', '.join(allowed)}", key)
        return value

    def child(self, key: str) -> YamlReader:
        """A reader for the required nested mapping at `key`, keeping the key path."""
        path = ".".join(p for p in (self.path, key) if p)
        return YamlReader(self.get(key), self.location, path, self.source)

    def only(self, allowed: Collection[str]) -> None:
        """Fail when the mapping has a key outside `allowed`."""
        if unknown := sorted(set(self.data) - set(allowed)):
            self.fail(f"unknown keys {unknown}; allowed: {', '.join(allowed)}")

    def backends(self, known: Collection[str]) -> None:
        """Fail unless the mapping names at least one backend, all of them in `known`."""
        if not self.data:
            self.fail("must name at least one backend")
        self.only(known)
