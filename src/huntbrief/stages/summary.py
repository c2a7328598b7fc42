"""Summary stage: two or three extractive sentences that say what an article is about.

Pure and deterministic: sentences are scored by position (lead sentences of the first substantive
paragraphs first) and a little content sense; headings, chrome, table rows, IOC lists and calls to
action never qualify. The chosen sentences keep their order in the article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from huntbrief.catalog.boilerplate import BoilerplatePatterns, line_core, load_boilerplate
from huntbrief.model import Article
from huntbrief.stages.text import split_sentences

_MIN_CHARS = 40
_MIN_WORDS = 6
_HEADING_MAX_WORDS = 12
_CANDIDATE_LIMIT = 40
_INDICATOR_SHARE = 0.4
_SENTENCE_END = '.!?…"”’)»'
_MD_IMAGE = re.compile(r"!\[[^\[\]\n]{0,300}\]\([^()\s]{0,4000}(?:\s+\"[^\"\n]{0,300}\")?\)")
_MD_LINK = re.compile(r"\[([^\[\]\n]{0,300})\]\([^()\s]{0,4000}(?:\s+\"[^\"\n]{0,300}\")?\)?")
_ADDRESS_HASH_OR_HOST = re.compile(
    r"\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?|[0-9a-fA-F]{32,}|[\w-]+(?:\.[\w-]+)*\.[a-zA-Z]{2,6}"
)
# "…Arnaud Zobec.Executive SummaryAnother threat actor…": a sentence end glued to the next sentence (a
# lower-case word, stop, capital) and, after such a glue, a Title Case heading glued to its first word.
_GLUED_END = re.compile(r"(?<=[a-z]{2}[.!?])(?=[A-Z][a-z])")
_GLUED_HEADING = re.compile(r"(?:[A-Z][a-z]+ ){1,3}[A-Z][a-z]{2,}(?=[A-Z][a-z]+\b)")
# "By Edmund Brumaghin, Joe Marshall, and Arnaud Zobec.": a byline naming several people.
_NAME = r"[A-Z][\w'’.-]*(?: [A-Z][\w'’.-]*){0,3}"
_BYLINE = re.compile(rf"By {_NAME}(?:,? (?:and|&) {_NAME}|, {_NAME})*\.?")
_TABLE_CELL = re.compile(r";(?=\S)")  # prose puts a space after ";"; a flattened table row does not
_CONNECTIVE_WORDS = (
    "however but and also additionally furthermore moreover meanwhile similarly therefore thus instead"
)
_CONNECTIVES = frozenset(_CONNECTIVE_WORDS.split())


@dataclass(frozen=True, slots=True)
class _Candidate:
    order: int
    paragraph: int
    position: int
    text: str
    listed: bool

    @property
    def score(self) -> float:
        """Position first (lead sentences of early paragraphs), nudged by length and style."""
        score = 1.0 / (1.0 + 0.8 * self.paragraph) + (0.6 if self.position == 0 else 0.25 / self.position)
        words = len(self.text.split())
        score += 0.15 if 12 <= words <= 40 else -0.2 if words > 60 else 0.0
        low = self.text.lower()
        if low.split(" ", 1)[0].strip(",") in _CONNECTIVES or low.startswith("in addition"):
            score -= 0.2  # leans on a sentence the reader will not see
        if self.text.endswith("?"):
            score -= 0.2
        return score - (0.3 if self.listed else 0.0)


def summarize(
    article: Article,
    *,
    max_sentences: int = 3,
    max_chars: int = 600,
    boilerplate: BoilerplatePatterns | None = None,
) -> str:
    """Pick up to `max_sentences` real prose sentences (at most `max_chars` in all) from the article text.

    Falls back to the first prose-like line, then to the title; never empty when either exists.
    """
    patterns = boilerplate or load_boilerplate()
    ranked = sorted(_candidates(article, patterns), key=lambda c: (-c.score, c.order))
    chosen = _choose(ranked[: 2 * max(1, max_sentences)], max(1, max_sentences), max_chars)
    if chosen:
        return " ".join(chosen)
    best = ranked[0].text if ranked else _fallback_line(article, patterns)
    return _shorten(best or " ".join(article.title.split()), max_chars)


def _candidates(article: Article, patterns: BoilerplatePatterns) -> list[_Candidate]:
    """Acceptable sentences from the head of the article, with their paragraph and position."""
    title = _normal(article.title)
    found: list[_Candidate] = []
    paragraph = 0
    for line in _cells(article.text):
        prose = _prose_line(line, patterns)
        if not prose or _normal(prose) == title:
            continue
        position = 0
        for sentence in _unglued(split_sentences(prose)):
            text = _finished(sentence)
            if _acceptable(text, patterns) and _normal(text) != title:
                found.append(_Candidate(len(found), paragraph, position, text, _is_listed(line)))
                position += 1
        paragraph += 1 if position else 0
        if len(found) >= _CANDIDATE_LIMIT:
            break
    return found


def _cells(text: str) -> list[str]:
    """The text's lines, each flattened table row ("Tactic;Technique;Description") split into cells."""
    lines: list[str] = []
    for line in text.splitlines():
        lines.extend(line.split(";") if len(_TABLE_CELL.findall(line)) >= 2 else [line])
    return lines


def _unglued(sentences: tuple[str, ...]) -> list[str]:
    """Sentences with glued sentence ends split apart and glued headings after them cut off."""
    pieces: list[str] = []
    for sentence in sentences:
        first, *rest = _GLUED_END.split(sentence)
        pieces.append(first)
        pieces.extend(
            _GLUED_HEADING.sub("", piece, count=1) if _GLUED_HEADING.match(piece) else piece for piece in rest
        )
    return [p for p in pieces if not _BYLINE.fullmatch(p.strip())]


def _prose_line(line: str, patterns: BoilerplatePatterns) -> str:
    """The line as display text with glued chrome cut off; "" for headings, tables, chrome, IOC lists."""
    if " | " in line or "\t" in line:
        return ""
    raw = line_core(patterns.strip_prefix(line))
    if not raw or patterns.line_match(raw) or patterns.starts_section(raw):
        return ""
    if raw.startswith(("**", "__", "#")) and raw.endswith(("**", "__", "#", ":")):
        return ""  # a Markdown heading or bold label line
    text = _display(raw)
    if not text or len(text.split()) <= _HEADING_MAX_WORDS and not text.endswith(tuple(_SENTENCE_END)):
        return ""  # a heading or label
    return "" if _mostly_indicators(text) else text


def _acceptable(sentence: str, patterns: BoilerplatePatterns) -> bool:
    if len(sentence) < _MIN_CHARS or len(sentence.split()) < _MIN_WORDS or sentence.endswith(":"):
        return False
    return not patterns.is_chrome_sentence(sentence) and not _mostly_indicators(sentence)


def _mostly_indicators(text: str) -> bool:
    tokens = text.split()
    return bool(tokens) and sum(map(_is_indicator, tokens)) / len(tokens) >= _INDICATOR_SHARE


def _is_indicator(token: str) -> bool:
    """True for a token shaped like an IOC: defanged, URL, path, IP, hash or host/file name."""
    text = token.strip(".,;:()\"'")
    low = text.lower()
    if (
        "[.]" in text
        or "(.)" in text
        or "[dot]" in low
        or low.startswith(("hxxp", "http:", "https:", "ftp:"))
    ):
        return True
    if text.count("/") + text.count("\\") >= 2:
        return True
    return _ADDRESS_HASH_OR_HOST.fullmatch(text) is not None


def _is_listed(line: str) -> bool:
    return line_core(line) != line.strip()


def _display(text: str) -> str:
    """Text as shown to people: no list marker, no Markdown images, links as their text, no emphasis."""
    text = _MD_LINK.sub(r"\1", _MD_IMAGE.sub("", line_core(text))).replace("**", "")
    text = " ".join(text.split())
    if text[:1] in "*_" and text[1:2].isalnum():
        text = text[1:]  # an opening emphasis marker
    return text


def _finished(sentence: str) -> str:
    """A display sentence that ends like one (a period added after a bare last word)."""
    text = _display(sentence)
    return f"{text}." if text[-1:].isalnum() else text


def _normal(text: str) -> str:
    return " ".join(text.lower().split()).rstrip(".")


def _fallback_line(article: Article, patterns: BoilerplatePatterns) -> str:
    """The first line with some words that is not chrome, a table row, an IOC list or the title."""
    title = _normal(article.title)
    for line in article.text.splitlines():
        text = _finished(patterns.strip_prefix(line))
        if len(text.split()) < 3 or " | " in line or _normal(text) == title:
            continue
        if patterns.line_match(text) or patterns.is_chrome_sentence(text) or _mostly_indicators(text):
            continue
        return text
    return ""


def _choose(ranked: list[_Candidate], count: int, max_chars: int) -> list[str]:
    """The best-scored sentences that fit in `max_chars` together, in article order."""
    chosen: list[_Candidate] = []
    length = -1
    for candidate in ranked:
        if length + 1 + len(candidate.text) <= max_chars:
            chosen.append(candidate)
            length += 1 + len(candidate.text)
        if len(chosen) == count:
            break
    return [c.text for c in sorted(chosen, key=lambda c: c.order)]


def _shorten(text: str, max_chars: int) -> str:
    """The text, cut at a word boundary with an ellipsis when longer than `max_chars`."""
    if len(text) <= max_chars:
        return text
    cut = text[: max(1, max_chars - 1)]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(",;: ") + "…"
