"""A linter for the Splunk SPL subset huntbrief emits; pure, no Splunk needed.

Checks: balanced quotes, brackets and backticks; every backslash inside a string literal escaped
(`\\\\` or `\\"`); every command known; `tstats ... from datamodel=Model.Dataset where ... by ...` with
`summariesonly` set and a dataset of the CIM field list; every `Node.field` a field of that dataset;
every `regex` pattern compiling. `lint_spl` returns the problems found, empty when the query is clean.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from huntbrief.catalog.query_schemas import CimDataset

COMMANDS = frozenset(
    [
        "append",
        "appendpipe",
        "bin",
        "convert",
        "dedup",
        "eval",
        "eventstats",
        "fields",
        "fillnull",
        "head",
        "inputlookup",
        "join",
        "lookup",
        "makeresults",
        "regex",
        "rename",
        "rex",
        "search",
        "sort",
        "stats",
        "streamstats",
        "table",
        "tail",
        "top",
        "rare",
        "tstats",
        "where",
    ]
)
_PAIRS = {")": "(", "]": "["}
_NODE_FIELD = re.compile(r"(?<![\w.])([A-Z][A-Za-z_]*)\.([A-Za-z_][\w]*)")
_DATAMODEL = re.compile(r"\bdatamodel=([\w]+\.[\w]+)")


@dataclass(frozen=True, slots=True)
class Token:
    """A lexical piece of SPL: `code`, `string` (value unescaped), `macro` or `pipe`/`open`/`close`."""

    kind: str
    text: str
    pos: int


def _string_end(text: str, start: int, problems: list[str]) -> tuple[int, str]:
    value, i = [], start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            nxt = text[i + 1 : i + 2]
            if nxt not in ("\\", '"'):
                problems.append(
                    f"unescaped backslash in string at {i}: {text[max(start, i - 10) : i + 10]!r}"
                )
            value.append(nxt or "\\")
            i += 2
        elif ch == '"':
            return i, "".join(value)
        else:
            value.append(ch)
            i += 1
    problems.append(f"unterminated string at {start}: {text[start : start + 40]!r}")
    return len(text), "".join(value)


def tokenize(text: str, problems: list[str]) -> list[Token]:
    """Split SPL into tokens, appending lexical problems (unterminated strings, bad escapes, brackets)."""
    tokens: list[Token] = []
    stack: list[tuple[str, int]] = []
    i, code_start = 0, 0

    def flush(end: int) -> None:
        if text[code_start:end].strip():
            tokens.append(Token("code", text[code_start:end], code_start))

    while i < len(text):
        ch = text[i]
        if ch in '"`|()[]':
            flush(i)
            if ch == '"':
                end, value = _string_end(text, i, problems)
                tokens.append(Token("string", value, i))
                i = end
            elif ch == "`":
                end = text.find("`", i + 1)
                if end < 0:
                    problems.append(f"unbalanced backtick at {i}")
                    end = len(text)
                tokens.append(Token("macro", text[i + 1 : end], i))
                i = end
            elif ch == "|":
                tokens.append(Token("pipe", ch, i))
            elif ch in "([":
                stack.append((ch, i))
                tokens.append(Token("open", ch, i))
            else:
                if not stack or stack[-1][0] != _PAIRS[ch]:
                    problems.append(f"unbalanced {ch!r} at {i}")
                else:
                    stack.pop()
                tokens.append(Token("close", ch, i))
            i += 1
            code_start = i
        else:
            i += 1
    flush(len(text))
    problems += [f"unclosed {ch!r} at {pos}" for ch, pos in stack]
    return tokens


def _segments(tokens: list[Token]) -> Iterator[list[Token]]:
    """Pipeline segments at depth 0; subsearch contents `[ ... ]` are yielded as their own pipelines."""
    depth, current, sub = 0, list[Token](), list[Token]()
    for token in tokens:
        if token.kind == "open" and token.text == "[":
            depth += 1
            if depth == 1:
                sub = []
                current.append(token)
                continue
        if token.kind == "close" and token.text == "]":
            depth -= 1
            if depth == 0:
                yield from _segments(sub)
                current.append(token)
                continue
        if depth > 0:
            sub.append(token)
        elif token.kind == "pipe":
            if current:
                yield current
            current = []
        else:
            current.append(token)
    if current:
        yield current


def _lint_tstats(segment: list[Token], cim: Mapping[str, CimDataset], problems: list[str]) -> None:
    code = " ".join(t.text for t in segment if t.kind == "code")
    model = _DATAMODEL.search(code)
    if not re.search(r"\bsummariesonly=(true|false|t|f)\b", code):
        problems.append("tstats without summariesonly=")
    if model is None or not re.search(r"\bfrom\s+datamodel=", code):
        problems.append("tstats without `from datamodel=Model.Dataset`")
        return
    dataset = cim.get(model.group(1))
    if dataset is None:
        problems.append(f"unknown CIM dataset {model.group(1)}; known: {', '.join(sorted(cim))}")
        return
    after = code[model.end() :].split()
    if after and after[0] not in ("where", "by"):
        problems.append(f"tstats: expected `where` or `by` after the datamodel, got {after[0]!r}")
    for node, field in _NODE_FIELD.findall(code.replace(model.group(0), "")):
        if node != dataset.node and node in _cim_nodes(cim):
            problems.append(f"{node}.{field} does not belong to {dataset.name}")


def _cim_nodes(cim: Mapping[str, CimDataset]) -> set[str]:
    return {d.node for d in cim.values()}


def _lint_segment(
    segment: list[Token], first: bool, cim: Mapping[str, CimDataset], problems: list[str]
) -> None:
    head = segment[0]
    if head.kind == "macro":
        if len(segment) > 1:
            problems.append(f"text after macro `{head.text}`")
        return
    words = head.text.split() if head.kind == "code" else []
    command = words[0] if words else ""
    if command not in COMMANDS:
        if first and head.kind in ("code", "string"):
            return  # an implicit `search` at the start of the query
        problems.append(f"unknown command {command or head.text!r} at {head.pos}")
        return
    if command == "tstats":
        _lint_tstats(segment, cim, problems)
    if command == "regex":
        for token in segment:
            if token.kind == "string":
                try:
                    re.compile(token.text)
                except re.error as exc:
                    problems.append(f"regex {token.text!r} does not compile: {exc}")


def lint_spl(text: str, cim: Mapping[str, CimDataset]) -> tuple[str, ...]:
    """Problems with one SPL query (empty when clean); `cim` is the dataset table from query_schemas."""
    problems: list[str] = []
    tokens = tokenize(text, problems)
    if not tokens:
        return ("empty query",)
    starts_with_pipe = tokens[0].kind == "pipe"
    for index, segment in enumerate(_segments(tokens)):
        _lint_segment(segment, index == 0 and not starts_with_pipe, cim, problems)
    by_node: dict[str, set[str]] = {}
    for dataset in cim.values():
        by_node.setdefault(dataset.node, set()).update(dataset.fields)
    for token in tokens:
        for node, field in _NODE_FIELD.findall(token.text) if token.kind == "code" else ():
            if node in by_node and field not in by_node[node] and f"{node}.{field}" not in cim:
                problems.append(f"{node}.{field} is not a CIM field")
        m = re.fullmatch(r"drop_dm_object_name\((\w+)\)", token.text) if token.kind == "macro" else None
        if m and m.group(1) not in _cim_nodes(cim):
            problems.append(f"drop_dm_object_name of unknown CIM node {m.group(1)}")
    return tuple(problems)
