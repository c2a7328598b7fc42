"""One exception tree. Every error carries where it happened (feed URL, article URL, file:line)."""

from __future__ import annotations


class HuntbriefError(Exception):
    """Base of every error huntbrief raises on purpose; `location` says where."""

    def __init__(self, message: str, location: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class ConfigError(HuntbriefError):
    """A settings file, source list or command-line value is missing or invalid."""


class CatalogError(HuntbriefError):
    """A packaged or user-given knowledge file (ATT&CK, use cases, noise lists) is invalid."""


class FetchError(HuntbriefError):
    """A feed or article could not be fetched (network, refused address, size cap, status)."""


class ParseError(HuntbriefError):
    """A document could not be parsed into anything useful."""


class BackendError(HuntbriefError):
    """A SIEM backend could not convert or validate a query."""


class StoreError(HuntbriefError):
    """The state database could not be opened, migrated or written."""
