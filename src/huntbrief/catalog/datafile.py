"""Helpers shared by the YAML catalogue loaders: parse, locate a key's line, compile data regexes."""

from __future__ import annotations

import re
from typing import Any

import yaml

from huntbrief.errors import CatalogError


def compile_pattern(pattern: str, location: str) -> re.Pattern[str]:
    """Compile a case-insensitive data regex, or raise CatalogError naming it."""
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise CatalogError(f"bad regex {pattern!r}: {exc}", location=location) from exc


def key_line(text: str, key: str) -> int:
    """The 1-based line where `key:` first appears in YAML text (0 when not found)."""
    found = re.search(rf"^\s*['\"]?{re.escape(key)}['\"]?\s*:", text, re.MULTILINE)
    return text.count("\n", 0, found.start()) + 1 if found else 0


def yaml_mapping(text: str, location: str) -> dict[str, Any]:
    """Parse YAML text whose top level must be a mapping; CatalogError carries file:line."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise CatalogError(f"invalid YAML: {exc}", location=f"{location}{line}") from exc
    if not isinstance(data, dict):
        raise CatalogError("top level must be a mapping", location=location)
    return data
