"""HTML to plain analysis text: parse, then render a tree (raw HTML or trafilatura's) as text lines.

Pure helpers for the articles stage. The text rules: paragraphs are separated by blank lines,
list items and table rows sit one per line (cells joined by " | "), code/pre blocks keep their
lines verbatim, and nothing is ever escaped, so `evil[.]com` and `a_b` come out byte-exact.
"""

from __future__ import annotations

import re
import textwrap
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # lxml loads with the first HTML parsed: plain-text input never needs it (~10 ms)
    from lxml import etree

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]{0,300}\?>")
INVISIBLE = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")  # zero-width chars, soft hyphens


def without_invisible(text: str) -> str:
    """`text` without zero-width characters and soft hyphens (str.replace: faster than a regex)."""
    for char in INVISIBLE:
        if char in text:
            text = text.replace(char, "")
    return text


def parse_html(text: str) -> etree._Element | None:
    """Parse HTML text into an lxml tree; None when there is no document at all."""
    from lxml import etree
    from lxml import html as lxml_html

    cleaned = _XML_DECLARATION.sub("", text, count=1)
    if not cleaned.strip():
        return None
    try:
        return lxml_html.document_fromstring(cleaned)
    except (etree.ParserError, ValueError):
        return None


class Role(Enum):
    """How an element contributes to the text."""

    SKIP = "skip"
    BLOCK = "block"
    LIST = "list"
    ITEM = "item"
    TABLE = "table"
    ROW = "row"
    PRE = "pre"
    INLINE = "inline"


_HTML_SKIP = """script style noscript template nav footer aside form button select option textarea input
    svg iframe object embed canvas head title meta link audio video map dialog"""
_HTML_BLOCK = """p div section article main header h1 h2 h3 h4 h5 h6 blockquote figure figcaption address
    dl dt dd details summary center fieldset legend hr body html caption td th"""

HTML_ROLES: dict[str, Role] = {
    **dict.fromkeys(_HTML_SKIP.split(), Role.SKIP),
    **dict.fromkeys(_HTML_BLOCK.split(), Role.BLOCK),
    **dict.fromkeys(("ul", "ol", "menu", "dir"), Role.LIST),
    "li": Role.ITEM,
    "table": Role.TABLE,
    "tr": Role.ROW,
    **dict.fromkeys(("pre", "listing", "xmp", "plaintext"), Role.PRE),
}
"""Roles of raw HTML tags (the fallback path and feed content)."""

TRAFILATURA_ROLES: dict[str, Role] = {
    **dict.fromkeys(("graphic", "fw", "note"), Role.SKIP),
    **dict.fromkeys(("body", "doc", "div", "p", "head", "quote", "cell"), Role.BLOCK),
    "list": Role.LIST,
    "item": Role.ITEM,
    "table": Role.TABLE,
    "row": Role.ROW,
}
"""Roles of trafilatura's internal XML tags (its extracted `body`)."""

_LINE_BREAK = "\u2028"  # what <br>/<lb> become: a line break that whitespace collapsing keeps
_CELLS = frozenset(("td", "th", "cell"))
_BREAKS = frozenset(("br", "lb"))
_LAYOUT_MARKERS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6", "head", "ul", "ol", "list", "table"))
_LAYOUT_TEXT = 400
_RESCUE_TAGS = frozenset(("pre", "listing", "xmp", "table", "ul", "ol"))


def tree_to_text(root: etree._Element, roles: dict[str, Role]) -> str:
    """Render an lxml tree (which this call may modify) as plain analysis text."""
    _prepare(root, roles)
    return _Renderer(roles).render(root)


def _prepare(root: etree._Element, roles: dict[str, Role]) -> None:
    """Drop comments and skipped elements (keeping tails); turn breaks into newlines; pad blocks."""
    from lxml import etree

    etree.strip_elements(root, etree.Comment, etree.ProcessingInstruction, with_tail=False)
    skipped = [tag for tag, role in roles.items() if role is Role.SKIP]
    etree.strip_elements(root, *skipped, with_tail=False)
    for element in root.iter():
        role = roles.get(str(element.tag), Role.INLINE)
        if element.tag in _BREAKS:
            element.text = _LINE_BREAK
        elif role not in (Role.INLINE, Role.PRE) and element is not root:
            element.text = " " + (element.text or "")
            element.tail = " " + (element.tail or "")


def _all_text(element: etree._Element) -> str:
    return "".join(element.itertext()).replace(_LINE_BREAK, "\n")


def _is_code_block(element: etree._Element, roles: dict[str, Role]) -> bool:
    tag = str(element.tag)
    if roles.get(tag) is Role.PRE:
        return True
    if tag in ("code", "quote"):
        return "\n" in _all_text(element).strip()
    return False


def marked_blocks(root: etree._Element, marker: re.Pattern[str]) -> list[str]:
    """Text of each outermost <pre>, <table> or list of an HTML tree (modified) that `marker` finds.

    Used to rescue indicator blocks that main-text extraction dropped because of a wrapper's class.
    """
    _prepare(root, HTML_ROLES)
    blocks: list[str] = []
    for element in root.iter(*_RESCUE_TAGS):
        if any(str(parent.tag) in _RESCUE_TAGS for parent in element.iterancestors()):
            continue
        text = _Renderer(HTML_ROLES).render(element, with_tail=False)
        if marker.search(text):
            blocks.append(text)
    return blocks


def _is_layout_table(table: etree._Element) -> bool:
    """A table used for page layout (cells holding headings, lists, tables or long prose)."""
    for cell in table.iter(*_CELLS):
        if any(str(child.tag) in _LAYOUT_MARKERS for child in cell.iterdescendants()):
            return True
        if len(_all_text(cell)) > _LAYOUT_TEXT:
            return True
    return False


class _Renderer:
    """Walks a prepared tree without recursion and collects text lines."""

    def __init__(self, roles: dict[str, Role]) -> None:
        self.roles = roles
        self.lines: list[str] = []
        self.buffer: list[str] = []
        self.blank = False
        self.items = 0
        self.layout: list[bool] = []

    def render(self, root: etree._Element, with_tail: bool = False) -> str:
        """The text of `root` (and its tail if asked): blocks separated by one blank line, trimmed."""
        stack: list[tuple[etree._Element, Role | None]] = [(root, None)]
        while stack:
            element, closing = stack.pop()
            if closing is not None:
                self._close(element, closing, with_tail or element is not root)
                continue
            role = self._role(element)
            if self._open(element, role):
                stack.append((element, role))
                stack.extend((child, None) for child in reversed(element))
            elif with_tail or element is not root:
                self._text(element.tail)
        self._flush()
        return without_invisible("\n".join(self.lines).strip("\n"))

    def _role(self, element: etree._Element) -> Role:
        tag = str(element.tag)
        if _is_code_block(element, self.roles):
            return Role.PRE
        role = self.roles.get(tag, Role.INLINE)
        if role is Role.ROW and self.layout and self.layout[-1]:
            return Role.BLOCK
        if tag in _CELLS and not (self.layout and self.layout[-1]):
            return Role.INLINE  # data cells are rendered by their row
        return role

    def _open(self, element: etree._Element, role: Role) -> bool:
        """Start an element; False when it was rendered whole (its children need no visit)."""
        if role is Role.PRE:
            self._pre(_all_text(element))
            return False
        if role is Role.ROW:
            self._row(element)
            return False
        if role is Role.TABLE:
            self.layout.append(_is_layout_table(element))
        if role is Role.ITEM:
            self._flush()
            self.buffer.append("- ")
            self.items += 1
        elif role in (Role.BLOCK, Role.LIST, Role.TABLE):
            self._break()
        self._text(element.text)
        return True

    def _close(self, element: etree._Element, role: Role, tail: bool) -> None:
        if role is Role.TABLE:
            self.layout.pop()
        if role is Role.ITEM:
            self.items -= 1
            self._flush()
        elif role in (Role.BLOCK, Role.LIST, Role.TABLE):
            self._break()
        if tail:
            self._text(element.tail)

    def _text(self, text: str | None) -> None:
        if text:
            self.buffer.append(text)

    def _break(self) -> None:
        """End the paragraph: inside a list item only a space, elsewhere a blank line."""
        if self.items:
            self.buffer.append(" ")
            return
        self._flush()
        self.blank = bool(self.lines)

    def _flush(self) -> None:
        """Emit the buffered inline text: one line per <br>-separated part, whitespace collapsed."""
        parts = "".join(self.buffer).split(_LINE_BREAK)
        self.buffer = []
        for part in parts:
            line = " ".join(part.split())
            if line and line != "-":
                self._emit(line)

    def _emit(self, line: str) -> None:
        if self.blank and self.lines and self.lines[-1]:
            self.lines.append("")
        self.blank = False
        self.lines.append(line)

    def _pre(self, text: str) -> None:
        self._flush()
        self.blank = bool(self.lines)
        body = textwrap.dedent(text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " "))
        for line in body.strip("\n").split("\n"):
            self._emit(line.rstrip())
        self.blank = not self.items

    def _row(self, row: etree._Element) -> None:
        self._flush()
        cells = [" ".join(_all_text(cell).split()) for cell in row if str(cell.tag) in _CELLS]
        if not cells:
            cells = [" ".join(_all_text(row).split())]
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            self._emit(" | ".join(cells))
