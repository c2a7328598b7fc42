"""Equivalence tests of the chrome fast path: each speed-up answers as the plain per-pattern regexes do.

The parts: `datafile.first_chars` (the characters a match can start with), the alternations led by
those classes, the BULLET first-character test and the keys standing in for the gate literals. Each
is checked against the plain patterns on the fixtures, the real articles and seeded fuzz built from
the catalogue's own words plus characters that case-fold oddly (KELVIN SIGN, long s, dotted I).
"""

from __future__ import annotations

import random
import re
from importlib import resources
from pathlib import Path

import pytest

from huntbrief.catalog import boilerplate_model, regex_lead
from huntbrief.catalog.boilerplate import BoilerplateAction, BoilerplatePatterns, parse_boilerplate
from huntbrief.catalog.boilerplate_model import BULLET, line_core
from huntbrief.catalog.datafile import first_chars, parse_regex
from huntbrief.stages.articles import _plain, plain_without_chrome, strip_chrome

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "cases"
CORPUS = ROOT.parent / "shared" / "data" / "articles"
ODD_CASES = ["\u212a", "\u017f", "\u0130", "\u0131", "\u03a3", "\u00df", "\u00a9", "•", "»"]
WHOLE = (BoilerplateAction.DROP_LINE, BoilerplateAction.DROP_SECTION)


def _fresh() -> BoilerplatePatterns:
    """The packaged patterns, built anew (not the cached copy), so a patched helper takes effect."""
    text = resources.files("huntbrief.catalog").joinpath("data/boilerplate.yaml").read_text("utf-8")
    return parse_boilerplate(text, "boilerplate.yaml")


def _real_lines() -> list[str]:
    texts = [path.read_text(errors="replace") for path in sorted(CASES.rglob("*")) if path.is_file()]
    texts += [path.read_text(encoding="utf-8") for path in sorted(CORPUS.glob("*.txt"))]
    return sorted({line for text in texts for line in text.split("\n")})


def _soup(patterns: BoilerplatePatterns, count: int, seed: int) -> list[str]:
    """Lines mixing the catalogue's literal words, odd case-folding characters, bullets and spaces."""
    words = sorted(
        set(re.findall(r"[A-Za-z©]+|\d+|[^\sA-Za-z\d]", " ".join(p.regex.pattern for p in patterns.patterns)))
    )
    words += [*ODD_CASES, "Home", "Blog", "By", "May 10, 2021", "5 min read", "2024", "(c)", "Tags:"]
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        parts = [rng.choice(words) for _ in range(rng.randint(1, 7))]
        if rng.random() < 0.3:
            word = rng.randrange(len(parts))
            parts[word] = parts[word].upper() if rng.random() < 0.5 else parts[word].capitalize()
        line = rng.choice([" ", "", "  "]).join(parts)
        if rng.random() < 0.2:
            spot = rng.randint(0, len(line))
            line = line[:spot] + rng.choice(ODD_CASES) + line[spot:]
        lines.append(rng.choice(["", "", "- ", "1. ", "  ", "• "]) + line + rng.choice(["", "", " ", "\t"]))
    return lines


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return _real_lines() + _soup(_fresh(), 6000, 3)


# --- first_chars ---------------------------------------------------------------------------------

PROBES = [
    r"(?i:home|menu)\s*",
    r"[^\W\d_]\.",
    r"(?=x)\bab",
    r"\d+x",
    r"(?i)k",
    r"(?i:\u212a)elvin",
    r"\u017fhare",
    r"(?i:[a-c_])x",
    r"a++b|c*+d",
    r"(?>ab)c",
    r"(?:ab)?cd",
    r"(?-i:A)(?i:b)",
    r"x{0,3}y",
    r"[\s\S]",
    r"[^abc]d",
    r"(?i:[^a])b",
    r"\W+",
    r"(?i:\u0131)x",
    r"(?i:[\u0130-\u0131])",
    r"(?i:\u212a)",
    r"\w+@",
    r"[\w.]x",
    r"\s*\d",
    r"(?i:[\u017f])",
]


@pytest.mark.parametrize("pattern", PROBES)
def test_first_chars_holds_every_ascii_first_character_of_a_match(pattern: str) -> None:
    chars = first_chars(parse_regex(pattern))
    assert chars is not None, pattern
    regex = re.compile(pattern)
    alphabet = [chr(code) for code in range(128)] + ODD_CASES
    rng = random.Random(pattern)
    texts = [a + b for a in alphabet for b in "abcdexyK \u212a"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))) for _ in range(3000)]
    for text in texts:
        found = regex.match(text)
        if found and found.end() > 0 and text[0].isascii():
            assert text[0] in chars, (pattern, text)


@pytest.mark.parametrize(
    "pattern", [r"a?", r"(?=x)", r"\b", r"(a?)\1b", r"(a)?(?(1)a|b)c", r"(?a:\s)x", r"(?x) a"]
)
def test_first_chars_is_unknown_for_empty_matches_and_unmodelled_constructs(pattern: str) -> None:
    tree = parse_regex(pattern)
    assert tree is not None and first_chars(tree) is None, pattern
    assert first_chars(parse_regex("ab"), re.VERBOSE) is None


def test_first_chars_is_unknown_for_a_parse_that_failed() -> None:
    assert parse_regex("(unclosed") is None
    assert first_chars(object()) is None


def test_the_catalogue_patterns_are_led_by_real_classes() -> None:
    """The analysis applies to every line pattern of the packaged catalogue (else no speed-up)."""
    patterns = _fresh()
    for pattern in patterns.patterns:
        if pattern.action is not BoilerplateAction.SKIP_SENTENCE and not boilerplate_model._gate(pattern):
            chars = boilerplate_model._shape(pattern).first
            assert chars is not None and len(chars) < 128, pattern.name


# --- led alternations ----------------------------------------------------------------------------


def test_each_led_member_matches_exactly_as_its_plain_pattern(lines: list[str]) -> None:
    patterns = _fresh()
    texts = [text for line in lines for text in {line, line.strip(), line_core(line)}] + ["", " "]
    for pattern in patterns.patterns:
        if pattern.action is BoilerplateAction.SKIP_SENTENCE:
            continue
        whole = pattern.action in WHOLE
        led = boilerplate_model._alternation((pattern,), whole=whole)
        assert led is not None
        plain = pattern.regex.fullmatch if whole else pattern.regex.match
        for text in texts:
            assert (led.match(text) is None) == (plain(text) is None), (pattern.name, text)


def test_led_alternation_keeps_case_folding_of_non_ascii_first_characters() -> None:
    """`(?i)` k matches KELVIN SIGN, s the long s, i the dotted capital I: the class lets them in."""
    for source, text in [
        ("(?i:kelvin) blog", "\u212aelvin blog"),
        ("(?i:share)", "\u017fhare"),
        ("(?i:in this article)", "\u0130n this article"),
        ("(?i:[s-t])x", "\u017fx"),
    ]:
        pattern = boilerplate_model.BoilerplatePattern("p", BoilerplateAction.DROP_LINE, re.compile(source))
        led = boilerplate_model._alternation((pattern,), whole=True)
        assert led is not None and re.compile(source).fullmatch(text)
        assert led.match(text), (source, text)
        assert "(?<=" in led.pattern  # it really was led by a class


def test_led_alternation_falls_back_to_plain_members() -> None:
    """Unknown first characters, verbose or ASCII flags: the members stay as written."""
    empty = boilerplate_model.BoilerplatePattern("e", BoilerplateAction.DROP_LINE, re.compile(r"a*b?"))
    led = boilerplate_model._alternation((empty,), whole=True)
    assert led is not None and led.pattern == r"(?:a*b?)\Z" and led.match("")
    verbose = boilerplate_model.BoilerplatePattern(
        "v", BoilerplateAction.DROP_LINE, re.compile(r"a  b", re.VERBOSE)
    )
    led = boilerplate_model._alternation((verbose,), whole=False)
    assert led is not None and "(?<=" not in led.pattern and led.match("ab")


# --- the fast path as a whole --------------------------------------------------------------------


def _plain_verdict(patterns: BoilerplatePatterns, line: str) -> tuple[BoilerplateAction | None, str]:
    """`verdict` composed from the plain per-pattern regexes, no alternation, no fast path.

    A `.{0,N}`-led (gated) pattern of an action counts only when the lowered text holds one of that
    action's gate literals (that is the catalogue's documented behaviour).
    """

    def any_match(action: BoilerplateAction, text: str, whole: bool) -> bool:
        group = [p for p in patterns.patterns if p.action is action]
        gated = [p for p in group if boilerplate_model._gate(p)]
        literals = {lit for p in gated for lit in boilerplate_model._gate(p)}
        tried = [p for p in group if p not in gated]
        if any(lit in text.lower() for lit in literals):
            tried = group
        return any((p.regex.fullmatch(text) if whole else p.regex.match(text)) for p in tried)

    stripped = line.strip()
    text = stripped
    if any_match(BoilerplateAction.STRIP_PREFIX, text, False):
        prefixes = [p for p in patterns.patterns if p.action is BoilerplateAction.STRIP_PREFIX]
        for _ in range(boilerplate_model._MAX_PREFIX_ROUNDS):
            before = text
            for pattern in prefixes:
                found = pattern.regex.match(text)
                if found and found.end() > 0:
                    text = text[found.end() :].lstrip(" \t|·•,:;–—-")
            if text == before:
                break
    kept = text if text != stripped else line
    core = line_core(text)
    if not core:
        return None, kept
    if any_match(BoilerplateAction.DROP_SECTION, core, True):
        return BoilerplateAction.DROP_SECTION, kept
    return (BoilerplateAction.DROP_LINE if any_match(BoilerplateAction.DROP_LINE, core, True) else None), kept


def test_verdict_equals_the_plain_per_pattern_answer(lines: list[str]) -> None:
    patterns = _fresh()
    assert patterns._fast is not None
    for line in lines:
        assert patterns.verdict(line) == _plain_verdict(patterns, line), line


def test_one_line_questions_equal_the_plain_per_pattern_answers(lines: list[str]) -> None:
    patterns = _fresh()
    for line in lines[::3]:
        core = line_core(line)
        expected = _plain_verdict(patterns, core)
        assert patterns.starts_section(core) == (expected[0] is BoilerplateAction.DROP_SECTION), line
        dropped = expected[0] is BoilerplateAction.DROP_LINE
        if expected[0] is not BoilerplateAction.DROP_SECTION:
            assert (patterns.line_match(core) is not None) == dropped, line


def test_bullet_first_character_test_agrees_with_the_bullet_regex(lines: list[str]) -> None:
    no_bullet = regex_lead.cannot_lead(BULLET)
    assert "-" not in no_bullet and "7" not in no_bullet and "T" in no_bullet
    for line in lines + [f"{chr(code)} x" for code in range(300)]:
        stripped = line.strip()
        if stripped[:1] in no_bullet:
            assert BULLET.match(stripped) is None, line


def test_keys_cover_every_gate_literal() -> None:
    patterns = _fresh()
    assert patterns._fast is not None
    literals = patterns._gates[BoilerplateAction.DROP_LINE]
    assert literals and len(patterns._fast.keys) < len(literals)
    for literal in literals:
        assert any(key in literal for key in patterns._fast.keys), literal
    keys = regex_lead.covering_keys(frozenset({"we use cookies", "use of cookies", "©", "ab"}))
    assert set(keys) == {" cookies", "©", "ab"}


def test_one_pass_chrome_strip_on_line_soups_equals_plain_then_strip() -> None:
    patterns = _fresh()
    rng = random.Random(5)
    pool = _soup(patterns, 400, 9) + ["", "   ", "Related posts", "About the author", "x\r", "y\u2028z"]
    for _ in range(300):
        text = "\n".join(rng.choice(pool) for _ in range(rng.randint(0, 40)))
        assert plain_without_chrome(text, patterns) == strip_chrome(_plain(text), patterns), text[:200]
