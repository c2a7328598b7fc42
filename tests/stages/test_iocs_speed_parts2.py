"""Second round of IOC-stage fast paths, each checked against the plain form it replaces.

Fixtures plus seeded fuzz: heading lines are picked by markers and one RE2 pass instead of reading
every line, hosts no public suffix can end are skipped early, and hits are ordered without a key
tuple per hit.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from huntbrief.catalog.noise import load_noise
from huntbrief.catalog.phrases import Phrases
from huntbrief.model import Article, IndicatorKind, IocFindings, TextOrigin
from huntbrief.stages import ioc_addresses, ioc_hosts, ioc_scan, ioc_verdicts, iocs
from huntbrief.stages.ioc_glue import glued_to_label
from huntbrief.stages.ioc_scope import Hit, Scope
from huntbrief.stages.ioc_seek import _LINE_SPACE, grown_back, phrase_lines

CASES = Path(__file__).resolve().parents[1] / "cases"
NOISE = load_noise()
OPENERS = (NOISE.ioc_headings, NOISE.reference_headings)
CLOSER = NOISE.section_end_headings


def _fixture_texts() -> list[str]:
    return [path.read_text(encoding="utf-8", errors="replace") for path in sorted(CASES.rglob("*.txt"))]


HEADING_PIECES = [
    *("", "## ", "# ", "###### ", "####### ", "**", "* ", "  ", "\t", "\u00a0", "\u3000", "_", ":", "#"),
    *("Indicators of Compromise", "INDICATORS\u00a0OF\u2003COMPROMISE", "indicators\nof compromise"),
    *("iocs", "IOCs:", "IoC", "References", "referenceS", "Further\treading", "further  reading"),
    *("c&c servers", "C&C Servers", "ATT&C\u212a", "mitre att&ck", "Sources", "resources", "ttps"),
    *("https", "detection-rules", "pre-iocs", "xiocs", "iocs_", "_iocs", "iocs-", "(iocs)", "İOCs"),
    *("\udc80", "é", "|", "x" * 70, "word ", "a sentence.", ".", "\n", "\n", "\n", "---", "===", "\r"),
    *("Appendix", "observables", "Conclusion", "Yara", "SIGMA", "about the author", "**IOCs**"),
]


def _fuzz(pieces: list[str], count: int, longest: int, seed: int) -> list[str]:
    """Random concatenations of `pieces` (fixed seed)."""
    rng = random.Random(seed)
    return ["".join(rng.choices(pieces, k=rng.randint(1, longest))) for _ in range(count)]


LINE_HEADS = ["", "", "## ", "# ", "### ", "**", "* ", "  ", "\t", "_", "#"]
LINE_BODIES = [
    *("plain words", "word", "Indicators", "IOCs", "Further Reading", "MITRE ATT&CK", "Sources"),
    *("FI", "F\u0130", "ATT&C\u212a", "a | iocs", "résumé", "x" * 130, "many words in this short line"),
]
LINE_TAILS = ["", "", "**", ":", ".", "**:", " ", "_", " |"]


def _lines(count: int, seed: int) -> list[str]:
    """Texts of heading-like lines: a marker, words or a phrase, a tail, sometimes an underline."""
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        lines = []
        for _ in range(rng.randint(1, 12)):
            lines.append(rng.choice(LINE_HEADS) + rng.choice(LINE_BODIES) + rng.choice(LINE_TAILS))
            if rng.random() < 0.15:
                lines.append(rng.choice(["---", "===", "----  ", "--", ""]))
        texts.append("\n".join(lines) + rng.choice(["", "\n"]))
    return texts


HEADING_TEXTS = _fixture_texts() + _fuzz(HEADING_PIECES, 4000, 30, 20261204) + _lines(3000, 9)
FI = Phrases(re.compile(r"(?:fi)(?![\w-])"))  # the shape `load_noise` builds; a phrase ending in "i"


def _needed(heading: iocs.Heading) -> bool:
    """True for a heading `sections_under` cannot skip: not a plain line, or one naming a phrase."""
    lowered = heading[2].lower()
    opens = any(opener.found_in_lower(lowered) for opener in OPENERS)
    return not heading[3] or opens or CLOSER.is_whole_lower(lowered)


def test_sections_from_marked_lines_equal_sections_from_every_line() -> None:
    for text in HEADING_TEXTS:
        plain = iocs.sections_under(text, OPENERS, CLOSER, iocs.headings(text))
        assert iocs.sections_under(text, OPENERS, CLOSER) == plain, repr(text)
        encoded = text.encode("utf-8", "surrogatepass")
        assert iocs.sections_under(text, OPENERS, CLOSER, data=encoded) == plain, repr(text)


def test_section_marks_hold_every_heading_that_may_open_or_close() -> None:
    for text in HEADING_TEXTS:
        every = iocs.headings(text)
        marked = iocs.section_marks(text, (*OPENERS, CLOSER))
        assert set(marked) <= set(every) and marked == sorted(marked), repr(text)
        assert {h for h in every if _needed(h)} <= set(marked), repr(text)


def test_a_phrase_ending_in_i_is_found_after_dotted_capital_i() -> None:
    """ "İ" lower-cases to "i" plus a combining dot, which RE2 cannot see: such texts read every line."""
    for text in ("intro\nF\u0130\nbody\n", *HEADING_TEXTS[-500:]):
        plain = iocs.sections_under(text, (FI,), CLOSER, iocs.headings(text))
        assert iocs.sections_under(text, (FI,), CLOSER) == plain, repr(text)
    assert iocs.sections_under("intro\nF\u0130\nbody\n", (FI,), CLOSER) == (((6, 14),),)


def test_section_marks_skip_most_plain_lines() -> None:
    text = "\n".join(["Plain short line", "Another one here", "## Indicators", "IOCs", "x"] * 20)
    marked = iocs.section_marks(text, (*OPENERS, CLOSER))
    assert {title for _, _, title, _ in marked} == {"Indicators", "IOCs"}


def test_phrases_alternation_is_the_pattern_inside_its_word_edges() -> None:
    for phrases in (*OPENERS, CLOSER, NOISE.ioc_labels, NOISE.legitimate_cues, NOISE.file_labels):
        alternation = phrases.alternation()
        assert alternation is not None
        assert f"(?:{alternation})(?![\\w-])" == phrases.pattern.pattern
    assert Phrases(re.compile("iocs")).alternation() is None
    assert Phrases(re.compile(r"(?:iocs)(?![\w-])", re.IGNORECASE)).alternation() is None


def test_phrase_lines_take_only_escaped_ascii_phrases() -> None:
    punctuation = "".join(chr(c) for c in range(33, 127) if not chr(c).isalnum())
    assert phrase_lines(("|".join(re.escape(c) + "x" for c in punctuation),)) is not None
    assert phrase_lines((re.escape("c&c") + r"\s+servers",)) is not None
    for source in ("a.b", "(?:x)", r"\d+", "é", "a+", r"\w", "[ab]", "a$"):
        assert phrase_lines((source,)) is None, source
    assert phrase_lines(()) is None


def test_line_space_class_is_python_whitespace_but_the_line_feed() -> None:
    spaces = {c for c in range(0x110000) if chr(c).isspace()}
    assert max(spaces) < 0x3100
    pattern = phrase_lines(("x",))
    assert pattern is not None
    space = re.compile(r"\\x\{([0-9a-f]+)\}(?:-\\x\{([0-9a-f]+)\})?")
    listed: set[int] = set()
    for low, high in space.findall(_LINE_SPACE):
        listed.update(range(int(low, 16), int(high or low, 16) + 1))
    assert listed == spaces - {ord("\n")}


def test_plain_heading_phrases_found_in_any_case_and_spacing() -> None:
    for title in ("INDICATORS\u00a0OF\u2003COMPROMISE", "ATT&C\u212a", "Further\treading", "IoCs"):
        text = f"intro\n{title}\nbody\n"
        marked = iocs.section_marks(text, (*OPENERS, CLOSER))
        assert [h[2] for h in marked] == [title], title


def _article(text: str) -> Article:
    return Article(url=None, title="t", source="x", text=text, origin=TextOrigin.FILE)


HOST_PIECES = [
    *("EVIL.CO.ZA", "evil.co.za", "a.b.CK", "a.b.ck", "x.Com", "x.COM", "v1.2", "1.2.3", "10.0.0.1"),
    *("x.comAugust", "evil.xyzThe", "evil[.]123", "evil[.]Png", "Foo.Bar", "file.PNG", "a.exe"),
    *("Cobalt Strikeevil.com", "evil.com", "mail.Example.Org", "x.y.Z", "a-b.C-D", "q.Xn--p1ai"),
    *("q.XN--P1AI", "x.xn--80asehdb", "x.XN--80ASEHDB", "b.XN--BAD", "Evil.Ck", "w.Za", "a.JM"),
    *(" ", " ", "\n", ", ", ". ", "http://", "/path", "@", "_", "(", "hxxp://", "[.]"),
]


def _never_skip(last: str, ends: frozenset[str]) -> bool:
    return False


def test_hosts_no_suffix_ends_are_skipped_without_changing_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skipping candidates early changes nothing: the findings equal those of judging every one."""
    texts = _fixture_texts() + _fuzz(HOST_PIECES, 3000, 16, 7)
    fast = [iocs.find_indicators(_article(text), NOISE) for text in texts]
    monkeypatch.setattr(ioc_hosts, "_no_host", _never_skip)
    plain = [iocs.find_indicators(_article(text), NOISE) for text in texts]
    for text, quick, slow in zip(texts, fast, plain, strict=True):
        assert quick == slow, repr(text)


def test_hosts_under_suffixes_without_a_listed_top_label_are_found() -> None:
    """ "co.za" is a public suffix but "za" alone is not: such hosts (and punycode TLDs) are kept."""
    text = "C2: evil-c2.co.za and relay.example.com.kh; panel at update.xn--p1ai"
    found = {i.value for i in iocs.find_indicators(_article(text), NOISE).indicators}
    assert {"evil-c2.co.za", "relay.example.com.kh", "update.xn--p1ai"} <= found


def test_host_ends_are_every_suffix_last_label() -> None:
    ends = ioc_hosts.host_ends(NOISE.tlds)
    assert ends == {suffix.split(".")[-1] for suffix in NOISE.tlds}
    assert "ck" in ends and "ck" not in NOISE.tlds  # only "*.ck" is listed
    rng = random.Random(5)
    labels = ["evil", "co", "ck", "za", "com", "png", "123", "xn--p1ai", "www", "b"]
    for _ in range(2000):
        host = ".".join(rng.choices(labels, k=rng.randint(2, 4)))
        last = host.rpartition(".")[2]
        if last not in ends and not last.startswith("xn--"):
            assert NOISE.parts(host)[0] == "", host
    assert NOISE.parts("q.xn--p1ai")[0]  # a punycode suffix: why such labels are never skipped


def test_by_position_is_the_sort_on_start_and_kind_rank() -> None:
    rng = random.Random(11)
    kinds = list(IndicatorKind)
    for _ in range(300):
        hits = [
            Hit(rng.choice(kinds), str(index), rng.randint(0, 30), 0, False)
            for index in range(rng.randint(0, 60))
        ]
        plain = sorted(hits, key=lambda h: (h.start, ioc_scan._ORDER.get(h.kind, len(ioc_scan._ORDER))))
        assert ioc_scan.by_position(hits) == plain


IPV4_PIECES = ["1", "12", "123", "1234", "0", ".", ".", ".", "/24", "/", "a", " ", "٣", "_", "-", "\n", ":"]


def test_ipv4_anchors_give_the_plain_pattern_matches() -> None:
    """Only a dot with three more octets after it is an anchor; `finditer` finds the same spans."""
    pattern, anchor, run = ioc_addresses._IPV4, ioc_addresses._DIGIT_DOT, ioc_addresses._DIGIT_RUN
    texts = _fixture_texts() + _fuzz(IPV4_PIECES, 6000, 24, 3)
    texts += ["1.2.3.4", "1.2.3.4.5", "01.2.3.4/24", "9999.1.1.1", "1.2.3", "v1.22.333.4", "١.٢.٣.٤"]
    for text in texts:
        expected = [m.span() for m in pattern.finditer(text)]
        assert [m.span() for m in grown_back(pattern, anchor, run, text, text[::-1])] == expected, text


def test_glued_to_label_is_the_camel_tail_rule() -> None:
    rng = random.Random(13)
    for _ in range(3000):
        label = "".join(rng.choices("abcXYZé1-", k=rng.randint(0, 8)))
        assert glued_to_label(label) == (re.match(r"[a-z]{2,}+(?=[A-Z][a-z])", label) is not None), label


URL_PIECES = [
    *("legitimate site ", "lookalike of ", "compromised legitimate website ", "Official ", "genuine "),
    *("hxxp://evil[.]com/a", "https://github.com/x/y", "http://google.com", "https://evil.xyz/p.exe"),
    *("http://x.vercel.app", "https://1.2.3.4/x", "http://Example.ORG/", "evil.top/path", "## IOCs\n"),
    *("## Conclusion\n", "References\n", "\n", " ", " ", "the ", "Acme ", "(", ")", "[x](", "C2: "),
]


def test_url_host_verdict_is_the_full_domain_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kept URL's host gets what `domain_reason` would say at the URL's start."""
    seen: list[tuple[list[Hit], Scope]] = []
    assemble = iocs._assemble

    def recorded(hits: list[Hit], scope: Scope) -> IocFindings:
        seen.append((hits, scope))
        return assemble(hits, scope)

    monkeypatch.setattr(iocs, "_assemble", recorded)
    checked = 0
    for text in _fixture_texts() + _fuzz(URL_PIECES, 1500, 14, 17):
        seen.clear()
        iocs.find_indicators(_article(text), NOISE)
        for hits, scope in seen:
            for url, host in zip(hits, hits[1:], strict=False):
                kept = url.kind is IndicatorKind.URL and not url.reason and host.start == url.start
                if kept and host.kind is IndicatorKind.DOMAIN:
                    how = (url.defanged, True)
                    full = ioc_verdicts.domain_reason(scope, host.value, host.value, url.start, how)
                    assert host.reason == full, (text, host)
                    checked += 1
    assert checked > 200
