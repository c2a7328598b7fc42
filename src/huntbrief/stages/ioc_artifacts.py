"""Host artifacts: Windows registry keys, Windows/Unix file paths, file names and AS numbers.

These are the noisiest kinds in prose, so each one has a conservative rule: generic locations
(Run keys, system binaries in system folders, bare directories) are suppressed, file names and
bare `AS1234` tokens count only when the author presents them (IOC section, label on the line).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from huntbrief.stages.ioc_scope import Hit, K, Scope, Span, covering, trim
from huntbrief.stages.ioc_seek import (
    file_name_spans,
    merged_leads,
    re2_candidates,
    retried,
    seeded,
    trie_alternation,
)

_CHAR = r"[^\\\s\"'`<>|*?,;:“”‘’]"
_MID = rf"{_CHAR}++(?:[ ][A-Z0-9(]{_CHAR}*+){{0,3}}+(?=\\)"  # a folder; inner spaces before capitals only
# words after the last key name count only before a reg.exe switch, a quote or the line end
_LAST_WORDS = rf"(?:(?:[ ][A-Z0-9(]{_CHAR}*+){{1,2}}+(?=[ ]?(?:/[a-z]\b|[\"'”’\])]|\n|$)))?"
_REGISTRY = re.compile(
    r"(?<![\w\\])(?P<root>(?i:HKEY_[A-Z_]{4,20}+|HK(?:LM|CU|CR|CC|U)|\\?REGISTRY\\(?:MACHINE|USER)))"
    rf":?(?P<path>(?:\\{_MID})*+(?:\\{_CHAR}*+{_LAST_WORDS})?)"
)
_WIN_PATH = re.compile(
    r"(?<![\w\\/%$])(?P<root>[A-Za-z]:\\|%[A-Za-z_()]{2,30}+%\\?|\\\\[\w.$-]{1,63}+\\)"
    rf"(?P<path>(?:{_MID}\\)*+{_CHAR}*+)"
)
_UNIX_PATH = re.compile(
    r"(?P<root>(?:~(?<![\w/.:~\\-]~)/|/(?<![\w/.:~\\-]/))[A-Za-z.][\w.-]*+/)"
    r"(?P<path>[\w.@+~-]++(?:/[\w.@+~-]++)*+/?)"
)
_ASN = re.compile(r"AS(?<![\w-]AS)(?P<n>N?)[ -]?(?P<number>\d{1,10}+)(?![\w-])")
_WIN_MARKERS = (":\\", "%\\", "\\\\")
# where a hive root can start (tried there and one character earlier): every "hk" and "registry\\"
# in any case, as RE2 folds case ("K", the Kelvin sign, is a "k"; "ſ", the long s, an "s")
_REGISTRY_LEADS = (
    (re.compile("k(?<=[hH]k)"), -1),
    (re.compile("K(?<=[hH]K)"), -1),
    (re.compile("\u212a(?<=[hH]\u212a)"), -1),
    (re.compile(r"\\(?<=[rR][eE][gG][iI][sS\u017f][tT][rR][yY]\\)"), -8),
)
# where a Windows root may start (tried there and one character earlier): the offsets of ":\\", "%"
# and "\\\\"; where a Unix root starts: "~/" or "/" with the left edge the pattern asks for
_WIN_LEADS = ((re.compile(r":(?=\\)"), 0), (re.compile("%"), 0), (re.compile(r"\\(?=\\)"), 0))
_UNIX_LEADS = (
    (re.compile(r"~(?<![\w/.:~\\-]~)(?=/)"), 0),
    (re.compile(r"/(?<![\w/.:~\\-]/)(?=[A-Za-z.])"), 0),
)
_STACK_OFFSET = re.compile(r"\+(?:0x)?[0-9a-fA-F]{1,16}+$")
_GLUED_NAME = re.compile(r"\.[a-z0-9]{2,4}[A-Z_]")
_ROOTS = {
    "hkey_local_machine": "HKLM",
    "hkey_current_user": "HKCU",
    "hkey_classes_root": "HKCR",
    "hkey_users": "HKU",
    "hkey_current_config": "HKCC",
    "\\registry\\machine": "HKLM",
    "registry\\machine": "HKLM",
    "\\registry\\user": "HKU",
    "registry\\user": "HKU",
}
_PRIVATE_ASN = ((0, 0), (23456, 23456), (64496, 131071), (4200000000, 4294967295))


def trim_artifact(text: str, start: int, end: int) -> int:
    """`end` moved left past trailing punctuation, an unbalanced ")" and a "+0x1f" stack offset."""
    end = trim(text, start, end)
    unbalanced = text.count(")", start, end) - text.count("(", start, end)
    while unbalanced > 0 and end > start and text[end - 1] == ")":
        end, unbalanced = trim(text, start, end - 1), unbalanced - 1
    offset = _STACK_OFFSET.search(text, start, end)
    return offset.start() if offset else end


def scan_registry(scope: Scope, spans: list[Span]) -> Iterator[Hit]:
    """Registry keys under a hive root, root abbreviated (HKLM, HKCU, …); generic locations rejected."""
    text = scope.rf.text
    for match in seeded(_REGISTRY, merged_leads(text, _REGISTRY_LEADS), text):
        start = match.start()
        end = trim_artifact(text, start, match.end())
        if covering(spans, start) or end <= match.start("path"):
            continue
        root = _ROOTS.get(match.group("root").lower(), match.group("root").upper())
        path = text[match.start("path") : end].rstrip("\\")
        value = root + path
        reason = ""
        if path.count("\\") < 2:
            reason = "registry hive or top-level key (too generic)"
        elif value.lower() in scope.noise.generic_registry_keys:
            reason = "well-known registry location (a technique, not an indicator)"
        yield Hit(K.REGISTRY_KEY, value, start, end, scope.rf.defanged(start, end), reason)


def scan_paths(scope: Scope, spans: list[Span]) -> Iterator[Hit]:
    """Windows (drive, %VAR%, UNC) and Unix paths to a file; directories and system files rejected."""
    text = scope.rf.text
    for pattern, windows in ((_WIN_PATH, True), (_UNIX_PATH, False)):
        if not _may_hold_paths(scope, windows):
            continue
        if windows:
            found = seeded(pattern, merged_leads(text, _WIN_LEADS), text)
        else:
            found = retried(pattern, merged_leads(text, _UNIX_LEADS), text)
        for match in found:
            start = match.start()
            end = trim_artifact(text, start, match.end())
            if covering(spans, start) or end <= match.end("root"):
                continue
            value = text[start:end]
            reason = _path_reason(scope, value, windows)
            yield Hit(K.FILE_PATH, value, start, end, scope.rf.defanged(start, end), reason)


def _may_hold_paths(scope: Scope, windows: bool) -> bool:
    """Cheap substring test before a full scan: a drive/%VAR%/UNC marker, or "/root/" of a Unix root."""
    if windows:
        return any(marker in scope.rf.text for marker in _WIN_MARKERS)
    return _unix_roots(scope.noise.unix_roots).search(scope.utf8()) is not None


@lru_cache(maxsize=8)
def _unix_roots(roots: frozenset[str]) -> Any:
    """RE2 finding "~/" or "/root/" of a Unix root (any case) in UTF-8 text: one pass for all roots."""
    names = "|".join(re.escape(root) for root in sorted(roots))
    return re2_candidates(f"(?i)(~/|/(?:{names})/)".encode())


def _path_reason(scope: Scope, value: str, windows: bool) -> str:
    noise = scope.noise
    separator = "\\" if windows else "/"
    folder, _, name = value.rpartition(separator)
    low = value.lower()
    if not name or (windows and "." not in name):
        return "a directory, not a file"
    if not windows and not low.startswith("~/") and low.split("/")[1] not in noise.unix_roots:
        return "not under a known Unix root (prose or a URL path)"
    plain_name = not any(c in name for c in ".0123456789")
    if not windows and value.count("/") < 4 and plain_name and "/." not in value:
        return "probably a directory (short path, no extension)"
    if low in noise.benign_paths:
        return "well-known system file"
    if _system_binary(scope, name.lower()) and _is_system_folder(scope, folder):
        return "system binary in its usual folder (a LOLBin, not an indicator)"
    return ""


def _system_binary(scope: Scope, name: str) -> bool:
    noise = scope.noise
    return name in noise.system_binaries or name.startswith(noise.system_library_prefixes)


def _is_system_folder(scope: Scope, folder: str) -> bool:
    low = folder.lower().replace("/", "\\")
    return any(low.endswith(system) for system in scope.noise.system_folders)


def scan_file_names(scope: Scope, spans: list[Span]) -> Iterator[Hit]:
    """File names with an executable, script, document or archive extension, kept only when presented."""
    text, noise = scope.rf.text, scope.noise
    finder = extension_finder(noise.file_extension_pattern, noise.file_name_extensions)
    for start, end in file_name_spans(text, finder, scope.text_backwards()):
        value = text[start:end]
        extension = value.rpartition(".")[2].lower()
        if covering(spans, start):
            continue
        if end < len(text) and text[end] in "\\/@(":
            continue
        reason = ""
        if _GLUED_NAME.search(value):
            reason = "glued to the next word (flattened text)"
        elif value.lower() in noise.code_names:
            reason = "code identifier"
        elif _system_binary(scope, value.lower()):
            reason = "system binary name (a LOLBin, not an indicator)"
        elif len(value) - len(extension) < 2:
            reason = "extension only"
        elif not (scope.in_section(start) or scope.near(scope.noise.file_labels, start, end)):
            reason = "file name in prose (not presented as an indicator)"
        yield Hit(K.FILE_NAME, value, start, end, scope.rf.defanged(start, end), reason)


@lru_cache(maxsize=8)
def extension_finder(pattern: re.Pattern[str], extensions: frozenset[str]) -> re.Pattern[str]:
    """`pattern` ("\\.(?:ext|…)BOUNDARY", the noise lists' file_extension_pattern) made faster, same matches.

    Its alternation of `extensions` becomes a trie behind a look-ahead for their first characters, so
    `re` gives up on a dot in prose after one test. `pattern` itself when it has another shape.
    """
    source = pattern.pattern
    alternation, _, boundary = source.removeprefix(r"\.(?:").partition(")")
    if not source.startswith(r"\.(?:") or set(alternation.split("|")) != {re.escape(e) for e in extensions}:
        return pattern
    firsts = "".join(sorted({re.escape(extension[0]) for extension in extensions if extension}))
    return re.compile(rf"\.(?=[{firsts}])(?:{trie_alternation(extensions)}){boundary}", pattern.flags)


def scan_asns(scope: Scope, spans: list[Span]) -> Iterator[Hit]:
    """Autonomous system numbers ("AS12345", "ASN 12345") with network context; private ranges rejected."""
    for match in _ASN.finditer(scope.rf.text):
        start, end = match.start(), match.end()
        if covering(spans, start):
            continue
        number = int(match.group("number"))
        reason = ""
        if any(low <= number <= high for low, high in _PRIVATE_ASN):
            reason = "private, reserved or documentation AS number"
        elif not match.group("n") and not (
            scope.in_section(start) or scope.near(scope.noise.network_labels, start, end)
        ):
            reason = "AS-number-shaped token without network context"
        yield Hit(K.ASN, f"AS{number}", start, end, False, reason)
