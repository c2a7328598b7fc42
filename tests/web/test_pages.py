"""The HTML pages: filters, brief sections, copy buttons, downloads, IOC search, escaping and CSP hygiene."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from huntbrief.adapters.brief_rows import brief_id
from huntbrief.adapters.store import SqlStore
from huntbrief.app.web import create_app
from tests.web.sample import KQL, SPL, XSS_TITLE

PAGES = [
    "/",
    "/?severity=HIGH&source=beta-blog&since=2026-01-01&until=2026-12-31&technique=T1218&q=mshta",
    f"/briefs/{brief_id('k-ransom')}",
    f"/briefs/{brief_id('k-xss')}",
    "/iocs?q=hxxp%3A%2F%2Fupdate.badcdn%5B.%5Dnet%2Fpayload.exe",
    "/techniques?end=2026-11-30",
    "/techniques/T1059",
    "/heatmap?end=2026-11-30&days=60",
    "/sources",
    "/api/docs",
]


class Tags(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


@pytest.mark.parametrize("url", PAGES)
def test_pages_render_without_inline_script_or_style(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    for tag, attrs in tags(response.text):
        assert tag != "style" and "style" not in attrs, (tag, attrs)
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "script":
            assert attrs.get("src") == "/static/app.js"
        href = attrs.get("href") or ""
        assert not href.lower().startswith(("javascript:", "data:")), href


def rows(html: str) -> list[str]:
    return re.findall(r'<tr class="brief-row" data-level="(\w+)">', html)


def test_list_filters_by_severity_and_pages_keep_filters(client: TestClient) -> None:
    assert rows(client.get("/").text) == ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO", "HIGH"]
    high = client.get("/?severity=HIGH&source=&since=&until=&technique=&q=").text
    assert rows(high) == ["HIGH", "HIGH"] and '<option value="HIGH" selected>' in high
    assert rows(client.get("/?min_severity=medium").text) == ["CRITICAL", "HIGH", "MEDIUM", "HIGH"]
    assert rows(client.get("/?q=nothing+matches+this").text) == []


@pytest.mark.parametrize(
    "query", ["severity=SEVERE", "since=01/02/2026", "technique=<script>", "page=0", "page=x"]
)
def test_bad_list_input_is_a_client_error_page(client: TestClient, query: str) -> None:
    response = client.get(f"/?{query}")
    assert response.status_code in (400, 422) and "<script>" not in response.text.split("</head>")[1]


def test_brief_page_has_every_section_copy_buttons_and_downloads(client: TestClient) -> None:
    html = client.get(f"/briefs/{brief_id('k-ransom')}").text
    for section in (
        "Threat Profile",
        "Indicators of Compromise",
        "ATT&amp;CK Techniques",
        "Kill chain",
        "Recommended hunts",
        "Why this matters",
    ):
        assert section in html
    found = tags(html)
    buttons = [a["data-copy"] for t, a in found if t == "button" and "data-copy" in a]
    code_ids = {a["id"] for t, a in found if t in ("code", "pre") and a.get("id")}
    assert set(buttons) <= code_ids and {"ioc-defanged", "ioc-values"} <= set(buttons)
    assert len([b for b in buttons if b.startswith("q-")]) == 2  # one per query
    assert SPL.replace('"', "&#34;") in html and KQL.replace('"', "&#34;") in html
    assert "hxxp://update.badcdn[.]net/payload.exe" in html
    downloads = [a["href"] for t, a in found if t == "a" and "download" in (a.get("class") or "")]
    formats = client.get("/api/v1/health").json()["formats"]
    assert downloads == [f"/briefs/{brief_id('k-ransom')}/download/{f}" for f in formats]
    assert "Versions" in html  # saved twice


def test_download_is_an_attachment(client: TestClient) -> None:
    response = client.get(f"/briefs/{brief_id('k-ransom')}/download/markdown")
    assert response.status_code == 200 and "Ransomware crew" in response.text
    assert (
        response.headers["content-disposition"]
        == f'attachment; filename="huntbrief-{brief_id("k-ransom")}.md"'
    )
    assert client.get(f"/briefs/{brief_id('k-ransom')}/download/exe").status_code == 404


def test_attacker_controlled_title_and_url_render_as_text(client: TestClient) -> None:
    for url in ("/", f"/briefs/{brief_id('k-xss')}", "/techniques/T1059", "/?q=exploit"):
        html = client.get(url).text
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in html, url
    brief = client.get(f"/briefs/{brief_id('k-xss')}").text
    assert 'href="javascript:' not in brief and '<span class="unsafe-url">javascript:alert(3)</span>' in brief
    assert "&lt;b&gt;bold&lt;/b&gt;" in brief and XSS_TITLE not in brief


def test_ioc_search_page_takes_defanged_lists(client: TestClient) -> None:
    html = client.get(
        "/iocs", params={"q": "hxxp://update.badcdn[.]net/payload.exe\n203.0.113[.]7, nothing.example"}
    ).text
    assert html.count('class="ioc-result"') == 3
    assert html.count(f'href="/briefs/{brief_id("k-ransom")}"') == 2 and "No brief mentions it." in html
    spaced = client.get("/iocs", params={"q": "phish-login [ . ] com"}).text
    assert f'href="/briefs/{brief_id("k-phish")}"' in spaced


def test_technique_page_and_heatmap(client: TestClient) -> None:
    html = client.get("/techniques/t1059").text
    assert "UC_POWERSHELL_ENCODED" in html and "UC_MSHTA_PROXY" not in html
    heat = client.get("/heatmap?end=2026-11-30&days=30&bucket=7").text
    assert 'class="heat heat-5"' in heat and "T1190" in heat
    assert client.get("/techniques/12").status_code == 404


def test_sources_page(client: TestClient) -> None:
    html = client.get("/sources").text
    assert "75%" in html and "HTTP 503 &lt;oops&gt;" in html and 'class="failing"' in html


@pytest.mark.parametrize(
    "path", ["//evil.example/", "/\\evil.example", "/briefs/", "/iocs/", "/%2F%2Fevil.example"]
)
def test_no_redirects_anywhere(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert not 300 <= response.status_code < 400 and "location" not in response.headers


def test_host_check_blocks_dns_rebinding(web_store: SqlStore) -> None:
    guarded = TestClient(
        create_app(web_store, allowed_hosts=["127.0.0.1", "localhost"]), base_url="http://127.0.0.1"
    )
    assert guarded.get("/api/v1/health").status_code == 200
    assert guarded.get("/api/v1/health", headers={"host": "attacker.example"}).status_code == 400


def test_a_hunt_from_a_sigma_rule_shows_its_attribution_escaped(tmp_path: object) -> None:
    from dataclasses import replace
    from pathlib import Path

    from huntbrief.adapters.store import open_store
    from huntbrief.model import SeverityLevel
    from tests.web.sample import NOW, brief, hunt, tech

    credit = (
        'Sigma rule "Odd <b>Rule</b>" (1111) by Jane Analyst, rules/x.yml; Detection Rule License (DRL) 1.1'
    )
    rule = replace(hunt("SIGMA_1111", "Odd rule", ("T1059",)), kind="sigma", attribution=credit)
    made = brief(
        "k-sigma",
        "A brief with a rule hunt",
        SeverityLevel.HIGH,
        NOW,
        hunts=(rule,),
        techniques=(tech("T1059", "Command and Scripting Interpreter", "execution"),),
    )
    store = open_store(Path(str(tmp_path)) / "s.db")
    try:
        store.save_brief(made, key="k-sigma", source=made.source, url=made.url, feed_hash="fh", now=NOW)
        with TestClient(create_app(store)) as client:
            pages = [client.get(f"/briefs/{brief_id('k-sigma')}").text, client.get("/techniques/T1059").text]
    finally:
        store.close()
    for page in pages:  # the brief page and the technique page both credit the rule's author
        assert "by Jane Analyst" in page and "Detection Rule License (DRL) 1.1" in page
        assert "&lt;b&gt;Rule&lt;/b&gt;" in page and "<b>Rule</b>" not in page
