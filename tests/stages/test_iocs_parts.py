"""Unit tests of the IOC stage's helper modules: wallets, glue rules, seekers, HTML blocks, merging."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from huntbrief.catalog.noise import load_noise
from huntbrief.model import Article, Confidence, Indicator, IndicatorKind, IocFindings, Suppressed
from huntbrief.stages import ioc_addresses, ioc_hosts, ioc_scan, ioc_wallets
from huntbrief.stages.ioc_glue import glued_ports, url_sentence_tail
from huntbrief.stages.ioc_html import html_blocks
from huntbrief.stages.ioc_scope import LEGITIMATE, same_length_lower
from huntbrief.stages.ioc_seek import (
    email_spans,
    grown_back,
    ipv6_spans,
    retried,
    url_spans,
    utf8_starts,
)
from huntbrief.stages.ioc_wallets import base58check_ok, bech32_ok, monero_ok
from huntbrief.stages.iocs import find_indicators, merge_findings

PORTS = load_noise().common_ports


@pytest.mark.parametrize(
    ("address", "valid"),
    [
        ("1BoatSLRHtKNngkdXEeobR76b53LETtpyT", True),
        ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", True),
        ("1BoatSLRHtKNngkdXEeobR76b53LETtpyU", False),
        ("1111111111111111111114oLvT2", True),  # all-zero hash160, valid checksum
    ],
)
def test_base58check(address: str, valid: bool) -> None:
    assert base58check_ok(address) is valid


@pytest.mark.parametrize(
    ("address", "valid"),
    [
        ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", True),
        ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", True),
        ("bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297", True),
        ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdx", False),
        ("tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", False),  # testnet
    ],
)
def test_bech32(address: str, valid: bool) -> None:
    assert bech32_ok(address) is valid


def test_monero_network_byte() -> None:
    good = "4AdUndXHHZ6cfufTMvppY6JwXNouMBzSkbLYfpAV5Usx3skxNgYeYTRj5UzqtReoS44qo9mtmXCqY45DJ852K5Jv2684Rge"
    assert monero_ok(good)
    assert not monero_ok("9" + good[1:])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.2.3.4:44394.177.248.64", ["94.177.248.64"]),  # 443 is common, 4439 is not
        ("1.2.3.4:8080103.8.26.103:44366.42.55.5", ["103.8.26.103", "66.42.55.5"]),
        ("1.2.3.4:12345.57.11.2", []),  # no common-port reading, several readings
        ("1.2.3.4:443", []),
        ("1.2.3.4:443999.1.1.1", []),  # 443+999 is no octet; 4439+99 and 44399+9 are both possible
    ],
)
def test_glued_ports(text: str, expected: list[str]) -> None:
    end = text.index(":")
    assert [text[s:e] for s, e in glued_ports(text, end, PORTS)] == expected


def test_url_sentence_tail() -> None:
    assert url_sentence_tail("http://a.b/au/au.PayloadsTalos") == len(".PayloadsTalos")
    assert url_sentence_tail("http://a.b/Default.aspx") == 0


def test_seekers_match_plain_patterns() -> None:
    text = "x https://a.b/c and HTTP://d.e, xftp://no sftp://f.g/h mail a.b+c@d-e.fg _x@y.z 2001:db8::1 12:30"
    assert [text[s:e] for s, e in url_spans(text)] == [
        "https://a.b/c",
        "HTTP://d.e,",
        "ftp://no",
        "sftp://f.g/h",
    ]
    assert [text[s:e] for s, e in email_spans(text)] == ["a.b+c@d-e.fg"]
    assert [text[s:e] for s, e in ipv6_spans(text)] == ["2001:db8::1"]


CASES = Path(__file__).resolve().parents[1] / "cases" / "iocs"
GROWN = {
    "domain": (ioc_hosts._DOMAIN, ioc_hosts._LABEL_DOT, ioc_hosts._LABEL_RUN),
    "ipv4": (ioc_addresses._IPV4, ioc_addresses._DIGIT_DOT, ioc_addresses._DIGIT_RUN),
}


RE2_STARTS = {
    "hash": (ioc_scan._HEX, ioc_scan._HEX_STARTS),
    "cve": (ioc_scan._CVE, ioc_scan._CVE_STARTS),
    **{f"wallet-{i}": (pattern, starts) for i, (pattern, starts) in enumerate(ioc_wallets._WALLETS)},
}


def _fuzz_texts(count: int, alphabet: str = "ab1-9._@/\\ é\n0x:é٣", longest: int = 60) -> list[str]:
    """Random strings over the characters that decide token boundaries (fixed seed)."""
    rng = random.Random(20261204)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, longest))) for _ in range(count)]


def _fixture_texts() -> list[str]:
    return [path.read_text(encoding="utf-8", errors="replace") for path in sorted(CASES.glob("*.txt"))]


@pytest.mark.parametrize("name", list(GROWN))
def test_grown_back_gives_the_plain_pattern_matches(name: str) -> None:
    """The dot-anchored finder returns exactly `finditer`'s spans, on every fixture and on fuzz."""
    pattern, anchor, run = GROWN[name]
    texts = _fixture_texts()
    texts += ["a.b.c", "-a.b", "x-.y", "..a.b", "aé.com x.y", "_a.b", "1.2.3.4.5", "01.2.3.4/24 9999.1.1.1"]
    texts += _fuzz_texts(3000)
    for text in texts:
        expected = [m.span() for m in pattern.finditer(text)]
        assert [m.span() for m in grown_back(pattern, anchor, run, text, text[::-1])] == expected, text


@pytest.mark.parametrize("name", list(RE2_STARTS))
def test_re2_starts_give_the_plain_pattern_matches(name: str) -> None:
    """Trying the pattern only where RE2 says it may start returns exactly `finditer`'s spans."""
    pattern, starts = RE2_STARTS[name]
    rng = random.Random(7)
    runs = [
        "".join(rng.choice(chars) for _ in range(rng.choice((11, 25, 26, 31, 32, 33, 40, 64, 95, 106, 130))))
        for chars in ("0123456789abcdef", "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz") * 20
    ]
    pieces = [
        *runs,
        "0x",
        "bc1",
        "BC1",
        "1",
        "3",
        "4",
        "8",
        "é",
        "٣",
        " ",
        "-",
        "/",
        ".",
        "=",
        "+",
        "_",
        "\n",
    ]
    texts = _fixture_texts() + ["".join(rng.choices(pieces, k=rng.randint(1, 12))) for _ in range(3000)]
    texts += [f"{sep}{'a1' * 40}{sep}" for sep in " é/=_.+-"]
    texts += ["x 1BoatSLRHtKNngkdXEeobR76b53LETtpyT é" * 3, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq."]
    for text in texts:
        expected = [m.span() for m in pattern.finditer(text)]
        data = text.encode("utf-8", "surrogatepass")
        assert [m.span() for m in retried(pattern, utf8_starts(starts, data, text), text)] == expected, text


def test_cve_seeding_gives_the_plain_pattern_matches() -> None:
    texts = _fixture_texts() + _fuzz_texts(3000, "cCvVeE-_ 2019١0123456789‑x", 40)
    for text in texts:
        expected = [m.span() for m in ioc_scan._CVE.finditer(text)]
        data = text.encode("utf-8", "surrogatepass")
        seeded = retried(ioc_scan._CVE, utf8_starts(ioc_scan._CVE_STARTS, data, text), text)
        assert [m.span() for m in seeded] == expected, text


def test_same_length_lower_keeps_offsets() -> None:
    assert same_length_lower("İSTANBUL evil.COM") == "İstanbul evil.com"
    assert same_length_lower("ABC") == "abc"


def test_html_blocks_reads_tables_pre_code_but_not_chrome() -> None:
    html = (
        "<html><body><nav><table><tr><td>menu</td></tr></table></nav>"
        "<table><tr><td>a</td><td>b</td></tr></table><pre>line1\nline2</pre>"
        "<p>x <code>inline</code></p><footer><pre>foot</pre></footer></body></html>"
    )
    blocks = html_blocks(html)
    assert "a | b" in blocks and "line1\nline2" in blocks and "inline" in blocks
    assert "menu" not in blocks and "foot" not in blocks
    assert html_blocks("plain words only") == ""


def _ind(value: str, confidence: Confidence) -> Indicator:
    return Indicator(IndicatorKind.DOMAIN, value, value, confidence)


def test_merge_findings_dedupes_and_keeps_legitimate_out() -> None:
    first = IocFindings(
        indicators=(_ind("a.com", Confidence.MEDIUM),),
        suppressed=(
            Suppressed(IndicatorKind.DOMAIN, "brand.com", LEGITIMATE),
            Suppressed(IndicatorKind.DOMAIN, "c.com", "file name in prose"),
        ),
    )
    extra = IocFindings(
        indicators=(
            _ind("a.com", Confidence.HIGH),
            _ind("brand.com", Confidence.HIGH),
            _ind("c.com", Confidence.HIGH),
        )
    )
    merged = merge_findings(first, extra)
    assert [(i.value, i.confidence) for i in merged.indicators] == [
        ("a.com", Confidence.HIGH),
        ("c.com", Confidence.HIGH),
    ]
    assert [s.value for s in merged.suppressed] == ["brand.com"]


def test_every_suppressed_candidate_has_a_reason_and_kind() -> None:
    text = (
        "Visit docs.microsoft.com; C2 10.0.0.1; version 1.2.3.4; readme.md; AS400; "
        "1BoatSLRHtKNngkdXEeobR76b53LETtpyU"
    )
    found = find_indicators(Article(url=None, title="t", source="s", text=text), load_noise())
    assert len(found.suppressed) >= 4
    assert all(s.reason and re.fullmatch(r"[a-z0-9_]+", s.kind.value) for s in found.suppressed)
