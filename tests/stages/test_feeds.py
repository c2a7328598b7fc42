"""parse_feed, canonical_url and filter_items: self-describing fixtures, real-world samples, safety cases.

Fixture header format (tests/cases/feeds): XML files carry a comment near the top, JSON files an "_expect"
object. Lines: `Description: text`, `Header: Name: value` (a response header), `Base: url` (base_url), and
`Expect: <path> <op> <value>`. Paths: `items` / `problems` (counts), `feed.title`, `feed.link`,
`items[N].field`, `items[*].field`, `problems[N]`, `problems[*]`. Ops: `==` (equal; for [*]: all equal),
`~=` (contains, case-insensitive; for [*]: any contains), `!~` (does not contain; for [*]: none contains).
Values compare as text: None is `None`, datetimes are ISO 8601.
"""

from __future__ import annotations

import json
import random
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

from huntbrief.model import FeedItem, FeedParse, FeedSource
from huntbrief.stages.feeds import MAX_FIELD_CHARS, canonical_url, filter_items, parse_feed
from tests.localserver import LocalServer

CASES = Path(__file__).resolve().parents[1] / "cases" / "feeds"
SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "feeds" / "samples"
BROKEN_SAMPLES = (
    "bozo_",
    "illformed_",
    "rss2_invalid_dates",
    "rss2_reuters_invalid",
    "atom_incomplete_fields",
)
SOURCE = FeedSource(name="fixture", url="https://fixtures.example/feed")


# --- self-describing fixtures ---


@dataclass
class Case:
    headers: dict[str, str] = field(default_factory=dict)
    base: str | None = None
    checks: list[str] = field(default_factory=list)


def read_case(path: Path) -> Case:
    """The expectations a fixture carries in its header comment or "_expect" object."""
    if path.suffix == ".json":
        spec = json.loads(path.read_bytes())["_expect"]
        return Case(dict(spec.get("headers", {})), spec.get("base"), list(spec["checks"]))
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:  # a fixture whose bytes are deliberately not UTF-8
        text = raw.decode("cp1252")
    comment = re.search(r"<!--(.*?)-->", text, re.S)
    assert comment, f"{path.name}: no header comment"
    case = Case()
    for line in comment.group(1).splitlines():
        label, _, rest = line.strip().partition(": ")
        if label == "Header":
            name, _, value = rest.partition(": ")
            case.headers[name] = value
        elif label == "Base":
            case.base = rest
        elif label == "Expect":
            case.checks.append(rest)
    return case


def as_text(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def resolve(parsed: FeedParse, path: str) -> list[str] | str:
    """The value(s) a check path names, as text; a list for [*] paths."""
    if path in ("items", "problems"):
        return str(len(getattr(parsed, path)))
    if path.startswith("feed."):
        return as_text(getattr(parsed, path[5:]))
    match = re.fullmatch(r"(items|problems)\[(\d+|\*)\](?:\.(\w+))?", path)
    assert match, f"bad check path {path!r}"
    seq = parsed.items if match[1] == "items" else parsed.problems
    values = [as_text(getattr(v, match[3]) if match[3] else v) for v in seq]
    return values if match[2] == "*" else values[int(match[2])]


def check(parsed: FeedParse, line: str) -> None:
    match = re.fullmatch(r"(\S+)\s+(==|~=|!~)\s*(.*)", line)
    assert match, f"bad check line {line!r}"
    path, op, want = match.groups()
    got = resolve(parsed, path)
    found = [got] if isinstance(got, str) else got
    contains = [want.lower() in g.lower() for g in found]
    ok = {
        "==": bool(found) and all(g == want for g in found),
        "~=": any(contains),
        "!~": not any(contains),
    }[op]
    assert ok, f"{line!r}: got {got!r} (problems: {parsed.problems})"


FIXTURES = sorted(p for p in CASES.glob("*") if p.suffix in (".xml", ".json"))


def test_there_are_enough_fixtures() -> None:
    assert len(FIXTURES) >= 10


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_fixture(path: Path) -> None:
    case = read_case(path)
    assert case.checks, f"{path.name}: no Expect lines"
    started = time.monotonic()
    parsed = parse_feed(path.read_bytes(), SOURCE, headers=case.headers, base_url=case.base)
    assert time.monotonic() - started < 2.0
    for line in case.checks:
        check(parsed, line)


# --- real-world samples in the shared data (skipped when absent) ---

SAMPLE_FILES = (
    sorted(p for p in SAMPLES.glob("*") if p.is_file() and p.name != "NOTICE.md") if SAMPLES.is_dir() else []
)


@pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"shared feed samples not found at {SAMPLES}")
@pytest.mark.parametrize("path", SAMPLE_FILES, ids=[p.name for p in SAMPLE_FILES])
def test_sample(path: Path) -> None:
    source = FeedSource(name="sample", url="https://samples.example/feed")
    parsed = parse_feed(path.read_bytes(), source)
    assert isinstance(parsed, FeedParse)
    assert all(p and "\n" not in p for p in parsed.problems)
    keys = [item.key for item in parsed.items]
    assert all(keys) and len(set(keys)) == len(keys)
    assert all(item.title.strip() and item.source == "sample" for item in parsed.items)
    assert all(item.published is None or item.published.utcoffset() is not None for item in parsed.items)
    assert all(item.url is None or item.url.startswith(("http://", "https://")) for item in parsed.items)
    if path.name.startswith(BROKEN_SAMPLES):
        assert parsed.problems, "a broken sample must report a problem"


@pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"shared feed samples not found at {SAMPLES}")
def test_samples_details() -> None:
    def parse(name: str) -> FeedParse:
        return parse_feed(
            (SAMPLES / name).read_bytes(), FeedSource(name="s", url="https://samples.example/feed")
        )

    koi8 = parse("illformed_koi8r_undeclared.xml")
    assert koi8.items[0].title == "Как пережить новогоднюю ночь"
    assert any("undeclared encoding" in p for p in koi8.problems)
    assert len(parse("jsonfeed_elastic_1_1.json").items) == 3
    assert parse("atom_relative_links.xml").items[0].url == "https://samples.example/blog/2003/12/13/atom03"
    assert parse("rss2_techcrunch_large.xml").problems == ()  # whitespace before <?xml is tolerated
    assert parse("rss2_invalid_dates.xml").items[0].published is not None  # pubDate wins over a bad dc:date


# --- safety: XXE, external DTDs, entity bombs, huge items, garbage ---


def test_external_entity_file_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    for decl in (f'<!ENTITY e SYSTEM "file://{secret}">', f'<!ENTITY % p SYSTEM "file://{secret}"> %p;'):
        doc = (
            f'<?xml version="1.0"?>\n<!DOCTYPE rss [{decl}]>\n<rss version="2.0"><channel><title>t</title>'
            '<item><title>a &e; b</title><guid isPermaLink="false">g</guid></item></channel></rss>'
        )
        parsed = parse_feed(doc.encode(), SOURCE)
        assert "TOP-SECRET" not in repr(parsed)
        assert parsed.problems


def test_external_dtd_and_entities_are_never_fetched(local_server: LocalServer) -> None:
    local_server.route("/evil.dtd", body=b'<!ENTITY e "FETCHED">')
    local_server.route("/evil.txt", body=b"FETCHED")
    doc = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss SYSTEM "{local_server.url("/evil.dtd")}" [\n'
        f'<!ENTITY x SYSTEM "{local_server.url("/evil.txt")}">\n]>\n'
        '<rss version="2.0"><channel><title>t</title><item><title>&x; &e;</title>'
        "<link>https://x.example/1</link></item></channel></rss>"
    )
    parsed = parse_feed(doc.encode(), SOURCE)
    assert "FETCHED" not in repr(parsed)
    assert local_server.hits("/evil.dtd") == 0 and local_server.hits("/evil.txt") == 0


def test_billion_laughs_on_one_line_finishes_quickly() -> None:
    entities = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    doc = (
        f'<?xml version="1.0"?>\n<!DOCTYPE r [{entities}]>\n<rss version="2.0"><channel><title>t</title>'
        "<item><title>&a9;</title><link>https://x.example/1</link></item></channel></rss>"
    )
    started = time.monotonic()
    parsed = parse_feed(doc.encode(), SOURCE)
    assert time.monotonic() - started < 2.0
    assert all(len(item.title) < 1000 for item in parsed.items)


def test_huge_fields_are_capped_and_reported() -> None:
    body = "<p>" + "A" * (MAX_FIELD_CHARS + 50_000) + "</p>"
    doc = (
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>t</title>'
        f"<item><title>Huge</title><link>https://x.example/1</link><description><![CDATA[{body}]]></description>"
        f"<content:encoded><![CDATA[{body}]]></content:encoded></item></channel></rss>"
    )
    parsed = parse_feed(doc.encode(), SOURCE)
    item = parsed.items[0]
    assert len(item.summary) == MAX_FIELD_CHARS and len(item.content) == MAX_FIELD_CHARS
    assert any("2 oversized" in p and "1 MiB" in p for p in parsed.problems)


GARBAGE = [
    b"",
    b"   \n ",
    b"\x00\xff" * 300,
    b"{",
    b"[1, 2, 3]",
    b'{"items": 5}',
    b'{"version": "https://jsonfeed.org/version/1.1", "items": [1, {"authors": 7, "id": []}]}',
    b"[" * 100_000,
    b'{"a":' * 100_000,
    b"<",
    b"<rss",
    b"<?xml version='1.0' encoding='no-such-codec'?><rss version='2.0'><channel><item><title>x</title>",
    bytes(random.Random(7).randrange(256) for _ in range(4096)),
]


@pytest.mark.parametrize("data", GARBAGE, ids=[f"garbage{i}" for i in range(len(GARBAGE))])
def test_garbage_never_raises(data: bytes) -> None:
    parsed = parse_feed(data, SOURCE, headers={"Content-Type": "application/rss+xml"})
    assert isinstance(parsed, FeedParse)
    assert parsed.problems or parsed.items


# --- headers, bases, keys ---


def test_json_detected_by_content_type_and_relative_urls_use_content_location() -> None:
    doc = b'\xef\xbb\xbf  {"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", "url": "a"}]}'
    headers = {"content-type": "application/feed+json", "Content-Location": "/feeds/x.json"}
    parsed = parse_feed(doc, SOURCE, headers=headers, base_url="https://cl.example/start/")
    assert parsed.items[0].url == "https://cl.example/feeds/a"


def test_base_defaults_to_source_url() -> None:
    doc = b'<rss version="2.0"><channel><item><title>x</title><link>p/1</link></item></channel></rss>'
    assert parse_feed(doc, SOURCE).items[0].url == "https://fixtures.example/p/1"


def test_non_http_links_are_not_item_urls() -> None:
    doc = (
        b'<rss version="2.0"><channel><title>t</title><item><title>x</title><link>javascript:alert(1)</link>'
        b'<guid isPermaLink="false">k</guid></item></channel></rss>'
    )
    parsed = parse_feed(doc, SOURCE)
    assert parsed.items[0].url is None and parsed.items[0].key == "k"
    assert any("unusable link" in p for p in parsed.problems)


def test_hash_key_ignores_the_date_and_depends_on_source() -> None:
    def doc(date: str) -> bytes:
        return (
            f'<rss version="2.0"><channel><item><title>Same title</title><pubDate>{date}</pubDate>'
            "</item></channel></rss>"
        ).encode()

    one = parse_feed(doc("Mon, 02 Mar 2026 10:30:00 GMT"), SOURCE).items[0].key
    two = parse_feed(doc("Tue, 03 Mar 2026 10:30:00 GMT"), SOURCE).items[0].key
    other = parse_feed(doc("Mon, 02 Mar 2026 10:30:00 GMT"), FeedSource(name="other", url=SOURCE.url))
    assert one == two and one.startswith("sha256:") and other.items[0].key != one


# --- canonical_url ---


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("HTTPS://Example.COM:443/a/b?x=1#frag", None, "https://example.com/a/b?x=1"),
        ("http://example.com:80/", None, "http://example.com"),
        ("http://example.com", None, "http://example.com"),
        ("http://example.com:8080/a/", None, "http://example.com:8080/a/"),
        (
            "https://example.com/p?utm_source=x&b=2&UTM_Medium=y&a=1&fbclid=z",
            None,
            "https://example.com/p?b=2&a=1",
        ),
        ("https://example.com/p?gclid=1&mc_cid=2&mc_eid=3", None, "https://example.com/p"),
        ("https://example.com/p?q=a%20b&empty=&flag", None, "https://example.com/p?q=a%20b&empty=&flag"),
        ("https://example.com/p?ref=keep", None, "https://example.com/p?ref=keep"),
        ("../c?z=1", "https://Example.com/a/b/feed.xml", "https://example.com/a/c?z=1"),
        ("  /x  ", "https://example.com/feed", "https://example.com/x"),
        ("https://[2001:DB8::1]:443/x", None, "https://[2001:db8::1]/x"),
        ("https://user@Example.com/x", None, "https://user@example.com/x"),
        ("mailto:someone@example.com", None, "mailto:someone@example.com"),
        ("https://example.com:99999/x", None, "https://example.com:99999/x"),
    ],
)
def test_canonical_url(url: str, base: str | None, expected: str) -> None:
    assert canonical_url(url, base) == expected


def test_canonical_url_is_idempotent() -> None:
    once = canonical_url("HTTP://A.Example:80/x/?utm_campaign=1&k=v#f")
    assert canonical_url(once) == once == "http://a.example/x/?k=v"


# --- filter_items ---

ITEMS = (
    FeedItem(key="1", source="s", title="Ransomware hits hospital", summary="<p>LockBit affiliate</p>"),
    FeedItem(key="2", source="s", title="Weekly roundup", summary="Sponsored: buy our <b>webinar</b>"),
    FeedItem(key="3", source="s", title="Patch notes", content="<p>ransomware-adjacent notes</p>"),
    FeedItem(key="4", source="s", title="Zero  day in VPN", summary="Exploited in the wild"),
)


@pytest.mark.parametrize(
    ("include", "exclude", "kept", "dropped"),
    [
        ((), (), ["1", "2", "3", "4"], 0),
        (("RANSOMWARE",), (), ["1", "3"], 2),  # case-insensitive; "ransomware-adjacent" has a word boundary
        (("ransom",), (), [], 4),  # whole words only: "ransom" is not in "ransomware"
        (("zero day",), (), ["4"], 3),  # phrases match across any whitespace
        ((), ("sponsored", "webinar"), ["1", "3", "4"], 1),
        (("lockbit", "vpn"), ("hospital",), ["4"], 3),  # summary HTML is searched as text
        (("b",), (), [], 4),  # tag names in summaries are not text
    ],
)
def test_filter_items(
    include: tuple[str, ...], exclude: tuple[str, ...], kept: list[str], dropped: int
) -> None:
    source = FeedSource(name="s", url="https://s.example/feed", include=include, exclude=exclude)
    items, count = filter_items(ITEMS, source)
    assert [i.key for i in items] == kept and count == dropped
