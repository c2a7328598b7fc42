"""split_sentences: where sentences end (and where they must not), and that it stays linear-time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from huntbrief.stages.text import split_sentences

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "articles"
CORPUS_FILES = sorted(CORPUS.glob("*.txt")) if CORPUS.is_dir() else []


def squash(text: str) -> str:
    return "".join(text.split())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "The loader contacts evil[.]com for stage two. It then sleeps.",
            ("The loader contacts evil[.]com for stage two.", "It then sleeps."),
            id="defanged-domain",
        ),
        pytest.param(
            "Payload at hxxp://1.2.3[.]4/a_b. Next it beacons to 45.77.120.9 every hour. Done.",
            ("Payload at hxxp://1.2.3[.]4/a_b.", "Next it beacons to 45.77.120.9 every hour.", "Done."),
            id="defanged-url-and-ip",
        ),
        pytest.param(
            "Version 2.1.3 fixed it. Upgrade to v10.4.2 now.",
            ("Version 2.1.3 fixed it.", "Upgrade to v10.4.2 now."),
            id="versions",
        ),
        pytest.param(
            "Victims, e.g. a U.S. subsidiary, were hit. Others, i.e. banks, too.",
            ("Victims, e.g. a U.S. subsidiary, were hit.", "Others, i.e. banks, too."),
            id="eg-ie-us",
        ),
        pytest.param(
            "The FBI warned the U.S. Department of Energy. It acted.",
            ("The FBI warned the U.S. Department of Energy.", "It acted."),
            id="dotted-acronym-before-capital",
        ),
        pytest.param(
            "Mr. Smith and Dr. Jones met J. Doe on Jan. 5 at St. Louis. They talked.",
            ("Mr. Smith and Dr. Jones met J. Doe on Jan. 5 at St. Louis.", "They talked."),
            id="titles-initials-months",
        ),
        pytest.param(
            'He said "stop." Then he left! Was it APT29? Nobody knows...',
            ('He said "stop."', "Then he left!", "Was it APT29?", "Nobody knows..."),
            id="quotes-and-marks",
        ),
        pytest.param(
            "It was sold by Acme Inc. The buyer was unknown.",
            ("It was sold by Acme Inc.", "The buyer was unknown."),
            id="company-suffix-ends-sentence",
        ),
        pytest.param(
            "Wait... what happened next?", ("Wait... what happened next?",), id="ellipsis-lowercase"
        ),
        pytest.param(
            "1. Initial access\n2. Execution via cmd.exe",
            ("1. Initial access", "2. Execution via cmd.exe"),
            id="numbered-lines",
        ),
        pytest.param(
            "First paragraph\n\nSecond paragraph", ("First paragraph", "Second paragraph"), id="blank-line"
        ),
        pytest.param(
            "The actor sent invoices that were\nwrapped by the mail client. Then it stopped.",
            ("The actor sent invoices that were wrapped by the mail client.", "Then it stopped."),
            id="hard-wrap-joined",
        ),
        pytest.param(
            "Indicators\nevil[.]com\nbad[.]org",
            ("Indicators", "evil[.]com", "bad[.]org"),
            id="ioc-lines-not-joined",
        ),
        pytest.param(
            "Domain | evil[.]com | C2\nURL | hxxp://x[.]y/a | drop",
            ("Domain | evil[.]com | C2", "URL | hxxp://x[.]y/a | drop"),
            id="table-rows",
        ),
        pytest.param("", (), id="empty"),
        pytest.param("   \n\n \t ", (), id="blank"),
    ],
)
def test_split_sentences(text: str, expected: tuple[str, ...]) -> None:
    assert split_sentences(text) == expected


def test_no_text_is_lost_or_reordered() -> None:
    text = "Alpha beta. Gamma (e.g. delta) evil[.]com! Epsilon?\n\n- item one\n- item two\nZeta 1.2.3.4."
    assert squash("".join(split_sentences(text))) == squash(text)


PATHOLOGICAL = {
    "dots": "." * 1_000_000,
    "dot-then-letter": "." * 999_999 + "x",
    "defang-brackets": "[.]" * 333_333,
    "dot-space-lower": "a. " * 333_333,
    "initials": "A. " * 333_333,
    "acronyms": "U.S. " * 200_000,
    "abbreviations": "e.g. Mr. " * 111_111,
    "ip-like": "1.2.3.4 " * 125_000,
    "closing-quotes": ('."' + "'" * 998) * 1000,
    "no-spaces": "x" * 1_000_000,
    "one-space-run": ". " + " " * 1_000_000 + "A",
    "newlines": "\n" * 1_000_000,
    "mixed-marks": "!?.…" * 250_000,
    "long-token-sentences": ("a" * 60 + ". B ") * 15_625,
}


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_linear_time_on_a_megabyte_of_pathological_text(name: str) -> None:
    text = PATHOLOGICAL[name]
    started = time.perf_counter()
    sentences = split_sentences(text)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"{name}: {elapsed:.2f}s"
    assert squash("".join(sentences)) == squash(text)


@pytest.mark.skipif(not CORPUS_FILES, reason=f"shared article corpus not found at {CORPUS}")
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.stem[:50])
def test_corpus_articles_split_cleanly(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    sentences = split_sentences(text)
    assert sentences
    assert squash("".join(sentences)) == squash(text)
    for sentence in sentences:
        assert sentence == sentence.strip()
        assert not sentence.endswith(("[.", "(.", " e.g.", " i.e.", " Mr.", " Dr.")), sentence
