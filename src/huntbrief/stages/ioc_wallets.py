"""Cryptocurrency wallet addresses: Bitcoin (Base58Check, Bech32/Bech32m), Monero and Ethereum.

Bitcoin addresses are kept only when their checksum verifies, Monero ones when they decode to a
mainnet address, and Ethereum ones (no checksum without Keccak) only with wallet context nearby.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

from huntbrief.stages.ioc_scope import Hit, K, Scope, Span, covering
from huntbrief.stages.ioc_seek import re2_candidates, retried, utf8_starts

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {char: index for index, char in enumerate(_B58)}
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_CONSTANTS = {1: "bech32", 0x2BC830A3: "bech32m"}
_MONERO_BLOCK_SIZES = {0: 0, 2: 1, 3: 2, 5: 3, 6: 4, 7: 5, 9: 6, 10: 7, 11: 8}
_MONERO_NETWORKS = {18: 95, 42: 95, 19: 106}  # standard, subaddress, integrated (mainnet)

_B58_RUN = r"[1-9A-HJ-NP-Za-km-z]"
_EDGE = r"(?![\w/=+-])"
_LEFT = rb"(?:^|[^A-Za-z0-9_/.=+-])"  # RE2 (ASCII): a superset of the patterns' left edge
# what each wallet pattern's match starts with (RE2, ASCII): legacy Bitcoin or Monero, Bech32, Ethereum
WALLET_SEEDS = (
    rb"[1348][1-9A-HJ-NP-Za-km-z]{25}",
    rb"[bB][cC]1[02-9ac-hj-np-zAC-HJ-NP-Z]{11}",
    rb"0x[0-9a-fA-F]{40}",
)
_PATTERNS = (
    re.compile(
        rf"[1348](?<![\w/.=+-].)(?:(?<=[13]){_B58_RUN}{{25,34}}+|(?<=[48]){_B58_RUN}{{94}}(?:{_B58_RUN}{{11}})?+)"
        rf"{_EDGE}"
    ),
    re.compile(rf"[bB][cC]1(?<![\w/.=+-]...)[02-9ac-hj-np-zAC-HJ-NP-Z]{{11,71}}+{_EDGE}"),
    re.compile(rf"0x(?<![\w/.=+-]..)[0-9a-fA-F]{{40}}+{_EDGE}"),
)
# (pattern, RE2 finder of every offset where the pattern may match)
_WALLETS = tuple(
    (pattern, re2_candidates(_LEFT + b"(" + seed + b")"))
    for pattern, seed in zip(_PATTERNS, WALLET_SEEDS, strict=True)
)


def scan_wallets(scope: Scope, spans: list[Span], starts: list[int] | None = None) -> Iterator[Hit]:
    """Wallet addresses outside claimed spans; invalid checksums and context-less Ethereum are rejected.

    `starts` holds every offset where a wallet may start (sorted), when the caller has found them
    with one pass for several kinds (ioc_scan.token_starts); else each pattern's own RE2 finds them.
    """
    text = scope.rf.text
    for pattern, candidates in _WALLETS:
        tried = starts if starts is not None else utf8_starts(candidates, scope.utf8(), text)
        for match in retried(pattern, tried, text):
            if not covering(spans, match.start()):
                yield _wallet_hit(scope, match.group(), match.start(), match.end())


def _wallet_hit(scope: Scope, value: str, start: int, end: int) -> Hit:
    defanged = scope.rf.defanged(start, end)
    if value[0] in "13" or value[:3].lower() == "bc1":
        legacy = value[0] in "13"
        valid = base58check_ok(value) if legacy else bech32_ok(value)
        reason = "" if valid else "Bitcoin-shaped but the checksum does not verify"
        return Hit(K.BITCOIN, value if legacy else value.lower(), start, end, defanged, reason)
    if value[0] in "48":
        reason = "" if monero_ok(value) else "Monero-shaped but not a mainnet address"
        return Hit(K.MONERO, value, start, end, defanged, reason)
    return Hit(K.ETHEREUM, value.lower(), start, end, defanged, _eth_reason(scope, value, start, end))


def _eth_reason(scope: Scope, value: str, start: int, end: int) -> str:
    if len(set(value[2:])) == 1:
        return "a single repeated character"
    if scope.in_section(start) or scope.near(scope.noise.wallet_labels, start, end, reach=200):
        return ""
    return "0x-prefixed 160-bit value without wallet context"


def base58check_ok(value: str) -> bool:
    """True when a legacy Bitcoin address (P2PKH/P2SH) decodes and its double-SHA-256 checksum matches."""
    number = 0
    for char in value:
        number = number * 58 + _B58_INDEX[char]
    raw = number.to_bytes(25, "big") if number.bit_length() <= 200 else b""
    if len(raw) != 25 or raw[0] not in (0, 5):
        return False
    digest = hashlib.sha256(hashlib.sha256(raw[:21]).digest()).digest()
    return digest[:4] == raw[21:]


def bech32_ok(value: str) -> bool:
    """True when a `bc1` address has a valid Bech32 (v0) or Bech32m (v1+) checksum."""
    low = value.lower()
    hrp, _, data = low.rpartition("1")
    if hrp != "bc" or len(data) < 7:
        return False
    values = [_BECH32.index(char) for char in data]
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    kind = _BECH32_CONSTANTS.get(_polymod(expanded + values))
    return kind == ("bech32" if values[0] == 0 else "bech32m")


def _polymod(values: list[int]) -> int:
    generators = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for index, generator in enumerate(generators):
            check ^= generator if (top >> index) & 1 else 0
    return check


def monero_ok(value: str) -> bool:
    """True when a Monero address decodes (block Base58) to a mainnet standard, sub- or integrated address."""
    decoded = bytearray()
    for offset in range(0, len(value), 11):
        block = value[offset : offset + 11]
        size = _MONERO_BLOCK_SIZES.get(len(block))
        number = 0
        for char in block:
            number = number * 58 + _B58_INDEX[char]
        if size is None or number.bit_length() > size * 8:
            return False
        decoded += number.to_bytes(size, "big")
    return _MONERO_NETWORKS.get(decoded[0]) == len(value) if decoded else False
