"""STIX 2.1 patterns for huntbrief indicators: one comparison per IOC kind, literals escaped.

Pure functions; no stix2 import. Kinds without a STIX Cyber-observable (CVE) have no pattern.
"""

from __future__ import annotations

import re

from huntbrief.model import Indicator, IndicatorKind

K = IndicatorKind

# Hashes use the STIX hashing-algorithm vocabulary names; the quoted path step is required for '-'.
_SIMPLE: dict[IndicatorKind, str] = {
    K.IPV4: "ipv4-addr:value",
    K.IPV6: "ipv6-addr:value",
    K.DOMAIN: "domain-name:value",
    K.URL: "url:value",
    K.EMAIL: "email-addr:value",
    K.MD5: "file:hashes.MD5",
    K.SHA1: "file:hashes.'SHA-1'",
    K.SHA256: "file:hashes.'SHA-256'",
    K.SHA512: "file:hashes.'SHA-512'",
    K.FILE_NAME: "file:name",
}

# Cryptocurrency wallets: the OASIS common-objects `cryptocurrency-wallet` SCO is not in STIX 2.1
# core, so huntbrief uses a custom SCO type with the required x- prefix.
WALLET_TYPE = "x-cryptocurrency-wallet"
_WALLETS = {K.BITCOIN: "BTC", K.MONERO: "XMR", K.ETHEREUM: "ETH"}

_HIVES = {
    "HKLM": "HKEY_LOCAL_MACHINE",
    "HKCU": "HKEY_CURRENT_USER",
    "HKCR": "HKEY_CLASSES_ROOT",
    "HKU": "HKEY_USERS",
    "HKCC": "HKEY_CURRENT_CONFIG",
}
_ASN = re.compile(r"^(?:AS)?\s*(\d{1,10})$", re.IGNORECASE)


def quote(value: str) -> str:
    """A STIX pattern string literal: single-quoted, with backslash and quote escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def registry_key(value: str) -> str:
    """A registry key with its hive spelled out (HKLM → HKEY_LOCAL_MACHINE), as STIX requires."""
    hive, sep, rest = value.strip().partition("\\")
    full = _HIVES.get(hive.upper().rstrip(":"), hive)
    return f"{full}{sep}{rest}"


def split_path(value: str) -> tuple[str, str]:
    """A file path split into (directory, file name) at its last `\\` or `/`."""
    cut = max(value.rfind("\\"), value.rfind("/"))
    if cut < 0:
        return "", value
    directory = value[:cut] or value[: cut + 1]  # keep a bare root such as "/"
    return directory, value[cut + 1 :]


def asn_number(value: str) -> int | None:
    """The number of an ASN written `AS64500`, `as 64500` or `64500`; None if not one."""
    match = _ASN.match(value.strip())
    return int(match.group(1)) if match and int(match.group(1)) < 2**32 else None


def stix_pattern(indicator: Indicator) -> str | None:
    """The STIX pattern matching this indicator, or None when STIX has no observable for its kind."""
    kind, value = indicator.kind, indicator.value
    if kind in _SIMPLE:
        return f"[{_SIMPLE[kind]} = {quote(value)}]"
    if kind is K.CIDR:
        path = "ipv6-addr:value" if ":" in value else "ipv4-addr:value"
        return f"[{path} ISSUBSET {quote(value)}]"
    if kind is K.REGISTRY_KEY:
        return f"[windows-registry-key:key = {quote(registry_key(value))}]"
    if kind is K.FILE_PATH:
        return _file_path_pattern(value)
    if kind is K.ASN:
        number = asn_number(value)
        return None if number is None else f"[autonomous-system:number = {number}]"
    if kind in _WALLETS:
        return (
            f"[{WALLET_TYPE}:address = {quote(value)} AND {WALLET_TYPE}:currency_code = '{_WALLETS[kind]}']"
        )
    return None


def _file_path_pattern(value: str) -> str:
    directory, name = split_path(value)
    if not directory:
        return f"[file:name = {quote(name)}]"
    if not name:
        return f"[directory:path = {quote(directory)}]"
    return f"[file:name = {quote(name)} AND file:parent_directory_ref.path = {quote(directory)}]"
