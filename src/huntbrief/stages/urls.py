"""Feed-item URLs: canonical form (tracking parameters dropped) and absolute-link checks. Pure."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit, urlunsplit

# fmt: off
TRACKING_PARAMS = ("fbclid", "gclid", "dclid", "msclkid", "yclid", "mc_cid", "mc_eid", "_hsenc", "_hsmi",
                   "mkt_tok", "igshid", "wt_mc", "wt_zmc", "oly_enc_id", "oly_anon_id")
# fmt: on
TRACKING_PREFIXES = ("utm_",)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str, base: str | None = None) -> str:
    """The URL resolved against `base`, scheme/host lowercased, default port, fragment and tracking
    parameters dropped, other parameters kept in order. Never raises: a URL it can't parse is
    returned stripped (and resolved when possible)."""
    raw = url.strip()
    try:
        absolute = urljoin(base, raw) if base else raw
        parts = urlsplit(absolute)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            return absolute
        host = parts.hostname.lower()
        if ":" in host:
            host = f"[{host}]"
        if parts.port is not None and parts.port != _DEFAULT_PORTS[scheme]:
            host = f"{host}:{parts.port}"
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{host}" if userinfo else host
        path = "" if parts.path == "/" else parts.path
        return urlunsplit((scheme, netloc, path, _drop_tracking(parts.query), ""))
    except ValueError:
        return raw


def _drop_tracking(query: str) -> str:
    """The query string without tracking parameters; the other pairs are kept byte for byte."""
    kept = []
    for pair in query.split("&"):
        name = pair.partition("=")[0].lower()
        if pair and name not in TRACKING_PARAMS and not name.startswith(TRACKING_PREFIXES):
            kept.append(pair)
    return "&".join(kept)


def is_file_url(base: str) -> bool:
    """True when the URL's scheme is file: (a local feed)."""
    return urlsplit(base).scheme.lower() == "file"


def absolute_link(link: str, base: str) -> str | None:
    """The link resolved against base if that gives an absolute http(s) URL, else None.

    A file: link is kept only for a feed that is itself a local file (the runner confines it)."""
    url = urljoin(base, link.strip()) if link.strip() else ""
    parts = urlsplit(url)
    if parts.scheme.lower() == "file":
        return url if is_file_url(base) else None
    return url if parts.scheme.lower() in _DEFAULT_PORTS and parts.netloc else None
