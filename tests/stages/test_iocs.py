"""IOC extraction: self-describing fixtures (tests/cases/iocs/*.txt) plus focused unit tests.

Fixture header lines start with "# ": `expect: <type> <value> [high|medium]`, `forbid: [<type>] <value>`,
`suppressed: <type> <value>`, `order: <type> <value>, ...`, `exhaustive: true` (no other
indicators allowed), `url: <article url>`, `source: <publisher>`; other header lines describe the case.
A blank line ends the header; the rest is the article text, and after a line `=== html ===`, its HTML.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import pytest

from huntbrief.catalog.noise import NoiseLists, load_noise, parse_noise
from huntbrief.catalog.phrases import Phrases
from huntbrief.errors import CatalogError
from huntbrief.model import Article, Confidence, IndicatorKind, IocFindings
from huntbrief.stages.iocs import (
    display_form,
    evidence,
    find_indicators,
    heading_sections,
    headings,
    sections_under,
)
from huntbrief.stages.refang import defang_email, defang_host, defang_url, refang

KINDS = frozenset(kind.value for kind in IndicatorKind)
CASES = Path(__file__).resolve().parents[1] / "cases" / "iocs"
PACKAGED = Path(__file__).resolve().parents[2] / "src" / "huntbrief" / "catalog" / "data" / "noise.yaml"


@dataclass
class Case:
    url: str | None = None
    source: str = ""
    expect: list[tuple[str, str, str | None]] = field(default_factory=list)
    forbid: list[str] = field(default_factory=list)
    suppressed: list[tuple[str, str]] = field(default_factory=list)
    order: list[tuple[str, str]] = field(default_factory=list)
    exhaustive: bool = False
    text: str = ""


def read_case(path: Path) -> Case:
    """Parse one fixture file into its expectations and article text."""
    lines = path.read_text(encoding="utf-8").split("\n")
    case = Case()
    index = 0
    while index < len(lines) and lines[index].startswith("#"):
        key, _, value = lines[index][2:].partition(": ")
        _apply(case, key.strip(), value.strip())
        index += 1
    assert index < len(lines) and lines[index] == "", f"{path.name}: header must end with a blank line"
    case.text = "\n".join(lines[index + 1 :])
    return case


def _apply(case: Case, key: str, value: str) -> None:
    if key == "expect":
        kind, _, rest = value.partition(" ")
        item, _, confidence = rest.rpartition(" ")
        if confidence not in ("high", "medium", "low"):
            item, confidence = rest, ""
        case.expect.append((kind, item, confidence or None))
    elif key == "forbid":
        kind, _, item = value.partition(" ")
        case.forbid.append(f"{kind} {item.lower()}" if item and kind in KINDS else value.lower())
    elif key == "suppressed":
        kind, _, item = value.partition(" ")
        case.suppressed.append((kind, item))
    elif key == "order":
        case.order = [(item.split()[0], item.split()[1]) for item in value.split(", ")]
    elif key == "exhaustive":
        case.exhaustive = value == "true"
    elif key == "url":
        case.url = value
    elif key == "source":
        case.source = value


@pytest.fixture(scope="module")
def noise() -> NoiseLists:
    return load_noise()


def run(text: str, noise: NoiseLists, url: str | None = None, source: str = "") -> IocFindings:
    return find_indicators(Article(url=url, title="t", source=source, text=text), noise)


def _fixture_paths() -> list[Path]:
    return sorted(CASES.glob("*.txt"))


def test_there_are_enough_fixtures() -> None:
    assert len(_fixture_paths()) >= 150


@pytest.mark.parametrize("path", _fixture_paths(), ids=lambda p: p.stem)
def test_fixture(path: Path, noise: NoiseLists) -> None:
    case = read_case(path)
    text, _, html = case.text.partition("\n=== html ===\n")
    article = Article(url=case.url, title="t", source=case.source, text=text, html=html)
    found = find_indicators(article, noise)
    got = {(i.kind.value, i.value): i for i in found.indicators}
    for kind, value, confidence in case.expect:
        assert (kind, value) in got, f"missing {kind} {value}; got {sorted(got)}"
        if confidence:
            assert got[(kind, value)].confidence.value == confidence, f"{kind} {value}"
        assert got[(kind, value)].evidence, f"{kind} {value} has no evidence"
    values = {value.lower() for _, value in got} | {f"{kind} {value.lower()}" for kind, value in got}
    assert not values & set(case.forbid), f"forbidden values emitted: {values & set(case.forbid)}"
    rejected = {(s.kind.value, s.value) for s in found.suppressed}
    for item in case.suppressed:
        assert item in rejected, f"{item} not reported as suppressed; suppressed: {sorted(rejected)}"
    if case.exhaustive:
        assert set(got) == {(kind, value) for kind, value, _ in case.expect}
    if case.order:
        keys = [(i.kind.value, i.value) for i in found.indicators if (i.kind.value, i.value) in case.order]
        assert keys == case.order


# --- refang / defang ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "refanged"),
    [
        ("hxxp://a[.]b", "http://a.b"),
        ("hXXps[:]//a(.)b", "https://a.b"),
        ("h**p[://]a{.}b", "http://a.b"),
        ("fxp://a[dot]b(dot)c{dot}d", "ftp://a.b.c.d"),
        ("a[ . ]b a( dot )b", "a.b a.b"),
        ("me[@]x.y me[at]x.y me(at)x.y", "me@x.y me@x.y me@x.y"),
        ("evil\\.com", "evil.com"),
        ("1.2.3.]4 j.]mp a[.b", "1.2.3.4 j.mp a.b"),
        ("Token\\_Stealer", "Token_Stealer"),
        ("see dot com at noon; xhxxp://q", "see dot com at noon; xhxxp://q"),
    ],
)
def test_refang_forms(written: str, refanged: str) -> None:
    assert refang(written).text == refanged


def test_refang_maps_offsets_and_marks_defangs() -> None:
    rf = refang("go hxxp://bad[.]site now and plain.site")
    start = rf.text.index("http")
    assert rf.original[rf.original_offset(start) :].startswith("hxxp")
    assert rf.original_offset(rf.text.index("now")) == rf.original.index("now")
    assert rf.defanged(start, start + len("http://bad.site"))
    plain = rf.text.index("plain.site")
    assert not rf.defanged(plain, plain + len("plain.site"))


def test_display_forms() -> None:
    assert defang_url("https://www.evil.com:8443/x?y=1") == "hxxps://www.evil[.]com:8443/x?y=1"
    assert defang_url("ftp://a.b/c") == "fxp://a[.]b/c"
    assert defang_url("evil.com/path") == "evil[.]com/path"
    assert defang_host("a.b.c") == "a.b[.]c"
    assert defang_email("x@evil.co.uk") == "x[@]evil.co[.]uk"
    assert display_form(IndicatorKind.IPV4, "1.2.3.4") == "1.2.3[.]4"
    assert display_form(IndicatorKind.CIDR, "5.252.188.0/22") == "5.252.188[.]0/22"
    assert display_form(IndicatorKind.SHA256, "ab" * 32) == "ab" * 32


# --- behaviour -----------------------------------------------------------------------------------


def test_every_indicator_has_evidence_and_display(noise: NoiseLists) -> None:
    text = "Intro.\n| hxxp://evil-one[.]com/a | C2 |\nThen 45.61.136.7 was contacted by the loader.\n"
    found = run(text, noise)
    assert found.indicators
    for indicator in found.indicators:
        assert indicator.evidence and len(indicator.evidence) <= 310
        assert indicator.defanged != indicator.value or indicator.kind not in (
            IndicatorKind.URL,
            IndicatorKind.DOMAIN,
        )
    assert found.indicators[0].evidence == "| hxxp://evil-one[.]com/a | C2 |"


def test_evidence_is_trimmed_on_long_flattened_text() -> None:
    text = ("word " * 400) + "Beacon to 45.61.136.7 seen. " + ("more " * 400)
    rf = refang(text)
    start = rf.text.index("45.61")
    quote = evidence(rf, start, start + len("45.61.136.7"))
    assert "45.61.136.7" in quote and len(quote) <= 310


def test_suppressed_is_disjoint_from_kept_and_has_reasons(noise: NoiseLists) -> None:
    text = "docs.microsoft.com and evil-site[.]com; later evil-site.com in [a link](https://evil-site.com/x)."
    found = run(text, noise)
    kept = {(i.kind, i.value) for i in found.indicators}
    assert (IndicatorKind.DOMAIN, "evil-site.com") in kept
    for item in found.suppressed:
        assert item.reason and (item.kind, item.value) not in kept
    assert any(s.value == "docs.microsoft.com" for s in found.suppressed)


def test_pure_and_deterministic(noise: NoiseLists) -> None:
    article = Article(
        url="https://x.example.org/a", title="t", source="s", text="C2: bad-host[.]net 45.61.136.7"
    )
    before = replace(article)
    assert find_indicators(article, noise) == find_indicators(article, noise)
    assert article == before


def test_cve_year_bound_follows_publication_date(noise: NoiseLists) -> None:
    article = Article(
        url=None,
        title="t",
        source="s",
        text="CVE-2021-1234 and CVE-2024-5678",
        published=datetime(2021, 6, 1),
    )
    found = find_indicators(article, noise)
    assert [i.value for i in found.indicators] == ["CVE-2021-1234"]
    assert any(s.value == "CVE-2024-5678" for s in found.suppressed)


def test_url_host_policy_can_be_turned_off(noise: NoiseLists) -> None:
    quiet = replace(noise, url_hosts_as_indicators=False)
    found = run("Payload at hxxp://drop-zone[.]top/p.exe", quiet)
    assert [(i.kind, i.value) for i in found.indicators] == [
        (IndicatorKind.URL, "http://drop-zone.top/p.exe")
    ]
    assert any(s.value == "drop-zone.top" for s in found.suppressed)
    loud = run("Payload at hxxp://drop-zone[.]top/p.exe", noise)
    assert (IndicatorKind.DOMAIN, "drop-zone.top") in {(i.kind, i.value) for i in loud.indicators}


def test_heading_sections(noise: NoiseLists) -> None:
    text = "Intro\n## Indicators of Compromise\n### Hashes\nabc\n## Conclusion\nend\n"
    spans = heading_sections(text, noise.ioc_headings, noise.section_end_headings)
    assert len(spans) == 1
    inside = text[spans[0][0] : spans[0][1]]
    assert "### Hashes" in inside and "Conclusion" not in inside


def _reference_sections(text: str, opener: Phrases, closer: Phrases) -> tuple[tuple[int, int], ...]:
    """The one-opener rule, written plainly: what `sections_under` must give each opener."""
    spans: list[tuple[int, int]] = []
    open_at: int | None = None
    open_level = 0
    for offset, level, title, plain in headings(text):
        opens = opener.found_in(title)
        if plain and not opens and not closer.is_whole(title):
            level = 99
        if open_at is not None and level <= open_level and not opens:
            spans.append((open_at, offset))
            open_at = None
        if opens:
            open_at, open_level = (offset, level) if open_at is None else (open_at, min(open_level, level))
    if open_at is not None:
        spans.append((open_at, len(text)))
    return tuple(spans)


def test_sections_under_several_openers_equals_one_opener_at_a_time(noise: NoiseLists) -> None:
    """The one-pass form gives each opener the spans the plain one-opener rule gives it alone."""
    rng = random.Random(3)
    lines = [
        "## Indicators of Compromise",
        "### Hashes",
        "References",
        "# Conclusion",
        "Related reading",
        "IOCs",
        "plain short line",
        "A sentence that ends here.",
        "**Appendix**",
        "Sources:",
        "====",
        "abc",
        "",
        "## Mitigations",
        "1.2.3.4",
        "Further reading",
        "---",
    ]
    texts = ["\n".join(rng.choice(lines) for _ in range(rng.randint(0, 40))) for _ in range(400)]
    texts += [case.read_text(errors="replace") for case in sorted(CASES.glob("*"))]
    openers = (noise.ioc_headings, noise.reference_headings)
    for text in texts:
        alone = tuple(_reference_sections(text, o, noise.section_end_headings) for o in openers)
        assert sections_under(text, openers, noise.section_end_headings) == alone, text


def test_confidence_values_are_high_or_medium(noise: NoiseLists) -> None:
    found = run("seen: plain-host.com; C2: other-host.com; bad[.]host.com", noise)
    assert {i.confidence for i in found.indicators} <= {Confidence.HIGH, Confidence.MEDIUM}


ADVERSARIAL = {
    "dots": "a.",
    "digits": "1.",
    "hex": "0123456789abcdef",
    "defangs": "[.]",
    "schemes": "hxxp[:]//",
    "long_label": "Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "registry": "HKLM\\a A ",
    "win_path": "C:\\a) ",
    "unix_path": "/tmp/a/",
    "asn": "AS1 ",
    "base58": "1AAAAAAAAAAAAAAA",
    "bech32": "bc1qqqqqqqq",
    "ports": "1.2.3.4:4431.2.3.4",
    "table_urls": "| http://a.b/\n",
    "cues": "legitimate ",
    "dates": "January 2023",
    "emails": "a@",
    "colons": ":",
    "glue": "Strikeevil.com ",
}


def _cpu_seconds(text: str, noise: NoiseLists) -> float:
    best = float("inf")
    for _ in range(3):  # best of 3: a loaded machine can slow one run down
        started = time.process_time()
        run(text, noise)
        best = min(best, time.process_time() - started)
    return max(best, 1e-3)


@pytest.mark.parametrize("unit", list(ADVERSARIAL.values()), ids=list(ADVERSARIAL))
def test_adversarial_input_is_linear(unit: str, noise: NoiseLists) -> None:
    """8x the input must cost far less than 64x the time (quadratic); linear is about 8x."""
    small = unit * (6_000 // len(unit))
    ratio = _cpu_seconds(small * 8, noise) / _cpu_seconds(small, noise)
    assert ratio < 24, f"{ratio:.1f}x time for 8x input"


def test_pathological_mix_is_bounded(noise: NoiseLists) -> None:
    text = "\n".join(unit * (20_000 // len(unit)) for unit in ADVERSARIAL.values())
    started = time.process_time()
    found = run(text, noise)
    assert time.process_time() - started < 20
    assert all(i.kind is not IndicatorKind.DOMAIN or "." in i.value for i in found.indicators)


# --- noise catalogue -------------------------------------------------------------------------------


def test_packaged_noise_loads_once_and_validates() -> None:
    first = load_noise()
    assert first is load_noise()
    assert "microsoft.com" in first.benign_domains
    assert all(ext in first.tlds for ext in first.file_extension_tlds)


def test_noise_from_a_given_path(tmp_path: Path) -> None:
    target = tmp_path / "noise.yaml"
    target.write_text(
        PACKAGED.read_text(encoding="utf-8").replace("  - gartner.com\n", "  - acme.test.com\n")
    )
    custom = load_noise(target)
    assert "acme.test.com" in custom.benign_domains and "gartner.com" not in custom.benign_domains


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t + "\nsurprise: []\n", "unknown key 'surprise'"),
        (lambda t: t.replace("version: 1", "version: 2"), "unsupported version"),
        (lambda t: t.replace("  - 8.8.4.4\n", "  - 8.8.4\n"), "'8.8.4' is not an IP address"),
        (lambda t: t.replace("  - zip\n", "  - exe\n"), "'exe' is not a public suffix"),
        (lambda t: t.replace("  - gartner.com\n", "  - com\n"), "has no registrable domain"),
        (
            lambda t: t.replace("  url_hosts_as_indicators: true", "  url_hosts_as_indicators: yes please"),
            "policy",
        ),
        (lambda t: t.replace("benign_ips:", "benign_ips: [1.2.3.4\n"), "invalid YAML"),
        (lambda t: t.replace("asset_extensions:", "old_assets:"), "unknown key 'old_assets'"),
    ],
)
def test_bad_noise_files_raise_catalog_error_with_location(
    tmp_path: Path, edit: object, message: str
) -> None:
    target = tmp_path / "noise.yaml"
    assert callable(edit)
    target.write_text(edit(PACKAGED.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_noise(target)
    assert message in str(caught.value)
    assert caught.value.location and caught.value.location.startswith(str(target))


def test_missing_key_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="missing key"):
        parse_noise("version: 1\n", "inline.yaml")
    with pytest.raises(CatalogError, match="cannot read"):
        load_noise(tmp_path / "absent.yaml")


def test_listed_matches_whole_label_suffixes_only(noise: NoiseLists) -> None:
    """`listed` is: the host or a parent domain of two labels or more is an entry (never a substring)."""
    rng = random.Random(11)
    labels = ["a", "b", "evil", "com", "co", "uk", "", "microsoft", "x-y"]
    entries = frozenset({"b.com", "co.uk", "com", "a.b.com", ".com", "microsoft.com", "evil", "b."})
    hosts = [".".join(rng.choice(labels) for _ in range(rng.randint(1, 5))) for _ in range(3000)]
    for host in [*hosts, "", "com", "b.com", "xb.com", "login.microsoft.com.evil.cc"]:
        parts = host.split(".")
        expected = any(".".join(parts[i:]) in entries for i in range(len(parts) - 1))
        assert noise.listed(host, entries) is expected, host
