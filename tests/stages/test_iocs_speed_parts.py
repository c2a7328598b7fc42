"""Equivalence tests of the IOC scanners' fast candidate finders: each gives the plain pattern's matches.

Every finder is checked on the fixtures and on seeded fuzz built from the characters and words
that decide where its candidates start.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from huntbrief.catalog.noise import load_noise
from huntbrief.stages import ioc_artifacts, ioc_glue, ioc_hosts, ioc_scan, ioc_wallets, refang
from huntbrief.stages.ioc_artifacts import extension_finder
from huntbrief.stages.ioc_scope import Scope
from huntbrief.stages.ioc_seek import (
    file_name_spans,
    merged_leads,
    re2_candidates,
    retried,
    trie_alternation,
    utf8_starts,
)

CASES = Path(__file__).resolve().parents[1] / "cases" / "iocs"


def occurrences(text: str, literals: tuple[str, ...]) -> list[int]:
    """The earlier seeds, by str.find: every offset where one of `literals` occurs, in order."""
    found = []
    for literal in literals:
        at = text.find(literal)
        while at != -1:
            found.append(at)
            at = text.find(literal, at + 1)
    return sorted(found)


NOISE = load_noise()


def _fixture_texts() -> list[str]:
    return [path.read_text(encoding="utf-8", errors="replace") for path in sorted(CASES.glob("*.txt"))]


def _fuzz(pieces: list[str], count: int = 3000, longest: int = 14, seed: int = 20261204) -> list[str]:
    """Random concatenations of `pieces` (fixed seed)."""
    rng = random.Random(seed)
    return ["".join(rng.choices(pieces, k=rng.randint(1, longest))) for _ in range(count)]


REFANG_PIECES = [
    *("hxxp", "hXXp", "h**p", "hxtp", "fxp", "hxxps", "HXXP", "xhxxp", "fx", "hx", "s", "S", "p"),
    *("[", "]", "(", ")", "{", "}", ".", ":", "//", "@", " ", "\\", "_", "x", "X", "*", "h"),
    *("dot", "DOT", "Dot", "at", "AT", "At", "a1", "evil", "com", "é", "٣", "\n"),
]


def _plain_refang_matches(text: str) -> list[tuple[int, tuple[int, int]]]:
    """(branch, span) of every branch's own `finditer`, by position (earlier branch first on ties)."""
    found = [
        (match.start(), branch, match.span())
        for branch, (source, _) in enumerate(refang._BRANCHES)
        for match in re.finditer(source, text)
    ]
    return [(branch, span) for _, branch, span in sorted(found)]


def test_refang_leads_give_every_branch_match() -> None:
    """Each branch tried only where its leads point finds exactly what its `finditer` finds."""
    texts = _fixture_texts() + _fuzz(REFANG_PIECES, 6000)
    texts += [
        "hxxp://a[.]b",
        "a[ . ]b a( dot )b",
        "me[@]x.y me{at}x.y",
        "1.2.3.]4 j.]mp a[.b",
        "t\\.co a\\_b",
    ]
    for text in texts:
        fast = [(branch, match.span()) for branch, match in refang._matches(text)]
        assert fast == _plain_refang_matches(text), text


TOKEN_PIECES = [
    *("0x", "bc1", "BC1", "cve", "CVE", "CvE", "-2021-", "1", "3", "4", "8", "é", "٣", " ", "-", "/", "."),
    *("=", "+", "_", "\n", "a", "Z", "0", "ff"),
]


def _token_texts() -> list[str]:
    rng = random.Random(7)
    alphabets = ("0123456789abcdef", "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
    runs = [
        "".join(rng.choice(chars) for _ in range(rng.choice((11, 25, 26, 31, 32, 33, 40, 64, 95, 106, 130))))
        for chars in alphabets * 20
    ]
    texts = _fixture_texts() + _fuzz([*runs, *TOKEN_PIECES], 4000, 12, seed=11)
    texts += [f"{sep}{'a1' * 40}{sep}" for sep in " é/=_.+-"]
    texts += ["x 1BoatSLRHtKNngkdXEeobR76b53LETtpyT é" * 3, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq."]
    return texts


def _scope(text: str) -> Scope:
    rf = refang.Refanged(text, text, (), (), ())
    return Scope(
        rf=rf,
        noise=NOISE,
        own_domains=frozenset(),
        own_label="",
        sections=(),
        references=(),
        cve_years=(1999, 2030),
    )


TOKEN_PATTERNS = {
    "hash": ioc_scan._HEX,
    "cve": ioc_scan._CVE,
    **{f"wallet-{i}": pattern for i, (pattern, _) in enumerate(ioc_wallets._WALLETS)},
}


@pytest.mark.parametrize("name", list(TOKEN_PATTERNS))
def test_one_token_pass_gives_every_kinds_matches(name: str) -> None:
    """Hash, CVE and wallet patterns tried at the shared `token_starts` find what `finditer` finds."""
    pattern = TOKEN_PATTERNS[name]
    for text in _token_texts():
        starts = ioc_scan.token_starts(_scope(text))
        assert [m.span() for m in retried(pattern, starts, text)] == [
            m.span() for m in pattern.finditer(text)
        ]


PATH_PIECES = [
    *("C:\\", "c:", "\\", "\\\\", "%", "%APPDATA%", "%x", "~", "~/", "/", "/etc/", "/tmp", "a", "Z9", "."),
    *(" ", "-", ":", "_", "é", "\n", "$", "file.exe", "HKLM", "hk", "HKEY_LOCAL_MACHINE", "Software"),
    *("\\REGISTRY\\MACHINE", "registry\\user", "REGIſTRY\\", "REGİSTRY\\", "h\u212a", "HK", "kk", "(", ")"),
]
PATH_TEXTS = _fixture_texts() + _fuzz(PATH_PIECES, 6000, 12, seed=5)


def test_unix_path_leads_give_the_plain_pattern_matches() -> None:
    pattern = ioc_artifacts._UNIX_PATH
    for text in PATH_TEXTS:
        fast = retried(pattern, merged_leads(text, ioc_artifacts._UNIX_LEADS), text)
        assert [m.span() for m in fast] == [m.span() for m in pattern.finditer(text)], text


def test_windows_path_leads_are_the_literal_seeds() -> None:
    """The Windows leads point at every ":\\\\", "%" and "\\\\\\\\" (the seeds `seeded` documents)."""
    for text in PATH_TEXTS:
        leads = merged_leads(text, ioc_artifacts._WIN_LEADS)
        assert leads == list(occurrences(text, (":\\", "%", "\\\\"))), text


def test_registry_leads_are_every_hive_root_start() -> None:
    """The registry leads point where RE2 finds "hk" / "registry\\\\" in any case (its case folding)."""
    seeds = re2_candidates(rb"(?i)(hk|registry\\)")
    for text in PATH_TEXTS:
        expected = list(utf8_starts(seeds, text.encode("utf-8", "surrogatepass"), text))
        assert merged_leads(text, ioc_artifacts._REGISTRY_LEADS) == expected, text


def test_trie_alternation_matches_exactly_the_words() -> None:
    words = ["doc", "docx", "docm", "dot", "a", "ab", "abc", "7z", "x-y", "c++"]
    pattern = re.compile(f"(?:{trie_alternation(words)})")
    for word in [*words, "do", "docxx", "b", "", "abcd", "x-", "c+"]:
        assert (pattern.fullmatch(word) is not None) == (word in words), word


NAME_PIECES = [
    *(".", "exe", "EXE", "Exe", "dll", "docx", "doc", "tar", "gz", "7z", "ps1", "js", "jse", "a", "Z", "_"),
    *("$", "-", "\\", "/", "%", "@", " ", "é", "\u212a", "ſ", "İ", "ı", "sh", "\n", "x" * 30, "1"),
]
NAME_TEXTS = _fixture_texts() + _fuzz(NAME_PIECES, 6000, 14, seed=3)


def test_extension_finder_gives_the_catalogue_pattern_matches() -> None:
    plain = NOISE.file_extension_pattern
    fast = extension_finder(plain, NOISE.file_name_extensions)
    assert fast is not plain  # the catalogue pattern has the expected shape, so it was rewritten
    for text in NAME_TEXTS + ["a.EXE b.ſh c.\u212aey"]:
        assert [m.span() for m in fast.finditer(text)] == [m.span() for m in plain.finditer(text)], text


def _plain_file_name_spans(text: str, extension: re.Pattern[str]) -> list[tuple[int, int]]:
    """The file-name rule written out character by character (the reference for `file_name_spans`)."""
    chars = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$-.")
    spans = []
    for match in extension.finditer(text):
        dot = start = match.start()
        while start > dot - 255 and start > 0 and text[start - 1] in chars:
            start -= 1
        while start < dot and text[start] in ".-":
            start += 1
        if start != dot and not (start and text[start - 1] in "\\/%@"):
            spans.append((start, match.end()))
    return spans


def test_file_name_spans_grow_names_as_the_plain_rule() -> None:
    extension = NOISE.file_extension_pattern
    texts = [*NAME_TEXTS, "a" * 300 + ".exe", "-" * 300 + "b.dll", "é" + "x" * 254 + ".js"]
    for text in texts:
        assert list(file_name_spans(text, extension, text[::-1])) == _plain_file_name_spans(text, extension)


def test_word_before_needs_a_space_or_newline_just_before() -> None:
    """`leading_glue` skips its look-back search unless the character before the host can end it."""
    pieces = ["Word", "word", "ab", "A", " ", "  ", "\t", "\u00a0", "\n", "x.com", "1", "é", "-"]
    for text in _fuzz(pieces, 2000, 10, seed=9):
        for start in range(len(text) + 1):
            found = ioc_glue._WORD_BEFORE.search(text, max(0, start - 20), start)
            if not (start > 0 and text[start - 1] in ioc_glue._SPACE_BEFORE):
                assert found is None, (text, start)


URL_PIECES = [
    *("http", "HTTPS", "ftp", "h1+.-", "1ab", "://", ":", "//", "/", "?", "#", "@", "[", "]", "::1", "%25"),
    *("evil", "EXAMPLE", ".", "-", "_", "com", "8080", " ", "\t", "\n", "\x00", "é", "ｅｘ", "user:pw"),
    "a\u0130",
]


def test_url_host_shortcut_agrees_with_urlsplit() -> None:
    """`url_host` skips `urlsplit` only where the host is plain; everywhere it gives `urlsplit`'s host."""
    texts = _fuzz(URL_PIECES, 20000, 8, seed=13)
    texts += [
        "https://Evil.COM/x",
        "http://a.b:80/",
        "http://u@h.c/",
        "http://[::1]/",
        "evil.com/p",
        " http://x",
    ]
    for text in texts:
        target = text if "://" in text else f"http://{text}"
        try:
            expected = (urlsplit(target).hostname or "").lower()
        except ValueError:
            expected = ""
        assert refang.url_host(text) == expected, text


def test_glued_urls_each_bring_their_own_separator() -> None:
    """`scan_urls` looks for glued URLs only where "://" occurs in the rest of the URL."""
    for text in _fuzz(["http", "HTTPS", "ftp", "://", ":/", "/", "a", "_", "é", ":"], 3000, 10, seed=17):
        for body in range(len(text) + 1):
            glued = list(ioc_hosts._URL_GLUE.finditer(text, body, len(text)))
            assert not glued or text.find("://", body, len(text)) != -1, (text, body)
