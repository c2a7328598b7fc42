"""Verdicts on host names: why a host is not a domain indicator ("" when it is one).

Position-independent reasons (own site, code name, benign, hosting platform) are cached per
host; position-dependent ones (prose capitalisation, references, legitimate-site context) are not.
"""

from __future__ import annotations

from huntbrief.stages.ioc_scope import LEGITIMATE, Scope, benign_host, legitimate_context


def domain_reason(scope: Scope, host: str, written: str, start: int, how: tuple[bool, bool]) -> str:
    """Why a host is not a domain indicator ("" when it is); `how` = (defanged, inside a URL)."""
    verdict = host_verdict(scope, host)
    if verdict:
        return verdict
    if not scope.in_section(start) and legitimate_context(scope, start):
        return LEGITIMATE
    return "" if any(how) else _plain_domain_reason(scope, host, written, start)


def host_verdict(scope: Scope, host: str) -> str:
    """The position-independent part of `domain_reason` ("" when none applies), cached per host."""
    found = scope.verdicts.get(("host", host))
    if found is None:
        found = scope.verdicts[("host", host)] = (host, _host_reason(scope, host))
    return found[1]


def _host_reason(scope: Scope, host: str) -> str:
    """The position-independent verdict on a host name: own site, code name, benign, platform."""
    noise = scope.noise
    registrable, _ = scope.parts(host)
    if scope.is_own(registrable):
        return "the article's own site"
    if host in noise.code_names:
        return "code identifier"
    if any(label in noise.av_platform_labels for label in host.split(".")[:-1]):
        return "antivirus detection name"
    if benign_host(scope, host, registrable):
        return "well-known benign domain"
    if noise.listed(host, noise.hosting_platforms):
        return "hosting platform (the host alone is not an indicator)"
    return ""


def _plain_domain_reason(scope: Scope, host: str, written: str, start: int) -> str:
    """Why a bare, not-defanged host name in prose is not a domain ("" when it is one)."""
    noise, text = scope.noise, scope.rf.text
    end = start + len(host)
    labels = host.split(".")
    if (end < len(text) and text[end] == "(") or labels[0] in noise.code_prefixes:
        return "code identifier"
    if ".".join(labels[:2]) in noise.code_prefixes:
        return "code identifier"
    if scope.in_references(start):
        return "reference list"
    last = written.rsplit(".", 1)[-1]
    if len(last) > 1 and last[0].isupper() and last[1:].islower():
        return "sentence join (capitalised word after a full stop)"
    if written[0].isupper() and not written.isupper() and not scope.in_section(start):
        return "capitalised name in prose (a brand, not an indicator)"
    if labels[-1] in noise.file_extension_tlds and not scope.near(scope.noise.domain_labels, start, end):
        return "file name (extension is also a TLD)"
    return ""
