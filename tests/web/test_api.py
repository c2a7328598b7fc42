"""The JSON API with FastAPI's test client: listing, filters, brief in every format, IOCs, techniques."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from huntbrief.adapters.brief_rows import brief_id
from huntbrief.adapters.render import RENDERERS
from huntbrief.app.web import CSP
from huntbrief.serialize import brief_from_dict


def test_health_lists_every_format(client: TestClient) -> None:
    body = client.get("/api/v1/health").json()
    assert body["status"] == "ok" and body["briefs"] == 6
    assert set(body["formats"]) <= set(RENDERERS) and {"markdown", "json"} <= set(body["formats"])


def test_briefs_are_paged_newest_first(client: TestClient) -> None:
    body = client.get("/api/v1/briefs", params={"limit": 2, "offset": 1}).json()
    assert body["total"] == 6 and body["limit"] == 2 and body["offset"] == 1
    assert [b["key"] for b in body["items"]] == ["k-phish", "k-xss"]
    first = client.get("/api/v1/briefs").json()["items"][0]
    assert first["severity"] == "CRITICAL" and first["iocs"] == 3 and first["url"].endswith(first["id"])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"severity": "HIGH"}, ["k-phish", "k-undated"]),
        ({"severity": ["LOW", "INFO"]}, ["k-low", "k-info"]),
        ({"min_severity": "HIGH", "source": "alpha-news"}, ["k-ransom"]),
        ({"since": "2026-11-01", "until": "2026-11-20"}, ["k-phish", "k-xss"]),
        ({"technique": "t1059"}, ["k-ransom", "k-phish", "k-xss"]),
        ({"q": "remote support"}, ["k-ransom"]),
    ],
)
def test_brief_filters(client: TestClient, params: dict[str, object], expected: list[str]) -> None:
    body = client.get("/api/v1/briefs", params=params).json()  # type: ignore[arg-type]
    assert [b["key"] for b in body["items"]] == expected and body["total"] == len(expected)


@pytest.mark.parametrize(
    "params",
    [{"severity": "SEVERE"}, {"since": "yesterday"}, {"technique": "1059"}, {"limit": 0}, {"offset": -1}],
)
def test_bad_filters_are_422(client: TestClient, params: dict[str, object]) -> None:
    response = client.get("/api/v1/briefs", params=params)  # type: ignore[arg-type]
    assert response.status_code == 422 and response.json()["detail"]


def test_brief_by_id_round_trips_the_public_json(client: TestClient) -> None:
    bid = brief_id("k-ransom")
    body = client.get(f"/api/v1/briefs/{bid}").json()
    brief = brief_from_dict(body["brief"])
    assert brief.item_key == "k-ransom" and len(brief.iocs.indicators) == 3
    assert set(body["formats"]) == set(client.get("/api/v1/health").json()["formats"])


def test_brief_in_every_format(client: TestClient) -> None:
    bid = brief_id("k-ransom")
    for name, url in client.get(f"/api/v1/briefs/{bid}").json()["formats"].items():
        response = client.get(url)
        assert response.status_code == 200, name
        assert response.text.strip(), name
        assert "attachment" not in response.headers.get("content-disposition", "")
    assert json.loads(client.get(f"/api/v1/briefs/{bid}/json").text)["item_key"] == "k-ransom"
    assert client.get(f"/api/v1/briefs/{bid}/markdown").headers["content-type"].startswith("text/markdown")


def test_unknown_brief_or_format_is_404(client: TestClient) -> None:
    assert client.get("/api/v1/briefs/0000000000000000").status_code == 404
    response = client.get(f"/api/v1/briefs/{brief_id('k-ransom')}/docx")
    assert response.status_code == 404 and "markdown" in response.json()["detail"]
    assert client.get("/api/v1/briefs/not-an-id").status_code == 422


def test_ioc_lookup_takes_defanged_values(client: TestClient) -> None:
    body = client.get(
        "/api/v1/iocs", params={"value": ["203.0.113[.]7", "badcdn[.]net", "nothing.example"]}
    ).json()
    first, second, third = body["results"]
    assert first["normalised"] == "203.0.113.7" and [h["brief"]["key"] for h in first["hits"]] == ["k-ransom"]
    assert {(h["brief"]["key"], h["match"]) for h in second["hits"]} == {("k-phish", "host")}
    assert third["hits"] == []
    assert client.get("/api/v1/iocs").status_code == 422


def test_techniques_technique_and_heatmap(client: TestClient) -> None:
    techniques = {t["id"]: t["briefs"] for t in client.get("/api/v1/techniques").json()}
    assert techniques["T1059"] == 2
    detail = client.get("/api/v1/techniques/T1059").json()
    assert detail["total"] == 3 and [h["id"] for h in detail["hunts"]] == ["UC_POWERSHELL_ENCODED"]
    assert "queries" in detail["hunts"][0]
    heat = client.get("/api/v1/heatmap", params={"days": 30, "end": "2026-11-30", "bucket": 7}).json()
    assert heat["buckets"][0] == "2026-11-01" and heat["peak"] >= 1
    assert {r["id"] for r in heat["rows"]} >= {"T1059", "T1190"}


def test_sources_show_feed_health(client: TestClient) -> None:
    sources = {s["name"]: s for s in client.get("/api/v1/sources").json()}
    assert sources["alpha-news"]["feeds"][0]["not_modified_rate"] == 0.75
    assert sources["beta-blog"]["feeds"][0]["last_error"] == "HTTP 503 <oops>"


def test_security_headers_on_every_response(client: TestClient) -> None:
    for url in ("/", "/api/v1/health", "/static/app.js", "/nope", "/api/v1/nope"):
        headers = client.get(url).headers
        assert headers["content-security-policy"] == CSP, url
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
    assert "unsafe-inline" not in CSP and "script-src 'self'" in CSP


def test_openapi_spec_lists_the_api(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/briefs",
        "/api/v1/briefs/{brief_id}",
        "/api/v1/briefs/{brief_id}/{fmt}",
        "/api/v1/iocs",
    ):
        assert path in paths
    assert {"/api/v1/techniques", "/api/v1/heatmap", "/api/v1/sources", "/api/v1/health"} <= set(paths)
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "/api/v1/iocs" in docs.text and "<script>" not in docs.text


def test_nothing_is_writable(client: TestClient) -> None:
    for method in ("post", "put", "delete", "patch"):
        assert getattr(client, method)("/api/v1/briefs").status_code == 405
