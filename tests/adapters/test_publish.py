"""Sending alerts and MISP events: address refusal, retries, headers, clear errors, no leaked secrets."""

from __future__ import annotations

import json
import logging

import pytest

from huntbrief.adapters.outbox import HttpSender, scrubbed_logs
from huntbrief.adapters.publish import PublishError, RetryPolicy, check_destination, redact_url
from huntbrief.adapters.render.misp import event_uuid
from huntbrief.adapters.targets import Target, misp_target
from huntbrief.errors import ConfigError
from tests.localserver import Reply
from tests.test_outputs import postserver
from tests.test_outputs.briefs import rich_brief

post_server = postserver.post_server
FAST = RetryPolicy(attempts=2, backoff=0.0, timeout=5)
KEY = "misp-secret-key-0123456789"
TOKEN = "hook-token-abcdef"


def _sender(*, allow_private: bool = True) -> HttpSender:
    return HttpSender(policy=FAST, allow_private=allow_private, sleep=lambda _s: None)


def _hook(server: postserver.PostServer, path: str, kind: str = "slack") -> Target:
    url = server.url(path)
    headers = (("Authorization", f"Bearer {TOKEN}"),)
    return Target(f"{kind}:t", kind, "team", url, headers=headers, secrets=(url, f"Bearer {TOKEN}"))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x",
        "http://10.0.0.5/x",
        "http://[::1]/x",
        "http://169.254.169.254/latest",
        "http://100.64.0.1/",
    ],
)
def test_private_destinations_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(PublishError, match="non-public address"):
        check_destination(url, allow_private=False)
    check_destination(url, allow_private=True)


def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    with pytest.raises(PublishError, match=r"intranet\.example is a non-public address \(192\.168\.1\.9\)"):
        check_destination(
            "https://intranet.example/hook", allow_private=False, resolve=lambda h: ["192.168.1.9"]
        )
    check_destination("https://hooks.example/x", allow_private=False, resolve=lambda h: ["93.184.216.34"])


def test_only_http_urls_are_used() -> None:
    with pytest.raises(PublishError, match="only http"):
        check_destination("file:///etc/passwd", allow_private=True)


def test_redacted_urls_keep_only_scheme_and_host() -> None:
    assert redact_url("https://hooks.slack.com/services/T0/B0/XYZ?x=1") == "https://hooks.slack.com/…"
    assert redact_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080"


def test_slack_payload_is_posted_with_its_headers(post_server: postserver.PostServer) -> None:
    post_server.route("/hook", body=b"ok")
    sender = _sender()
    try:
        assert sender.send(_hook(post_server, "/hook"), rich_brief(), updated=False) == "sent"
    finally:
        sender.close()
    sent = json.loads(post_server.bodies["/hook"][0])
    assert sent["text"].startswith("[HIGH] New brief:") and sent["blocks"][0]["type"] == "header"
    request = post_server.requests("/hook")[0]
    assert request["authorization"] == f"Bearer {TOKEN}"
    assert request["content-type"] == "application/json"
    assert request["user-agent"].startswith("huntbrief/")


def test_a_server_error_is_retried_then_succeeds(post_server: postserver.PostServer) -> None:
    post_server.route("/hook", Reply(status=500), Reply(status=200, body=b"ok"))
    sender = _sender()
    try:
        sender.send(_hook(post_server, "/hook", "webhook"), rich_brief(), updated=False)
    finally:
        sender.close()
    assert post_server.hits("/hook") == 2
    assert json.loads(post_server.bodies["/hook"][1])["brief"]["title"] == rich_brief().title


def test_a_refused_destination_is_never_contacted(post_server: postserver.PostServer) -> None:
    post_server.route("/hook", body=b"ok")
    sender = _sender(allow_private=False)
    try:
        with pytest.raises(PublishError, match="non-public address"):
            sender.send(_hook(post_server, "/hook"), rich_brief(), updated=False)
    finally:
        sender.close()
    assert post_server.hits("/hook") == 0


def test_errors_and_logs_never_show_the_webhook_url_or_token(
    post_server: postserver.PostServer, caplog: pytest.LogCaptureFixture
) -> None:
    secret_path = "/services/T0001/B0001/SECRETSECRET"
    echo = f"bad token Bearer {TOKEN} for {secret_path}"
    post_server.route(secret_path, Reply(status=400, body=echo))
    target = _hook(post_server, secret_path)
    target = Target(
        target.id,
        target.kind,
        target.label,
        target.url,
        target.headers,
        secrets=(*target.secrets, secret_path),
    )
    caplog.set_level(logging.DEBUG)
    sender = _sender()
    try:
        with scrubbed_logs([target]), pytest.raises(PublishError) as caught:
            sender.send(target, rich_brief(), updated=False)
    finally:
        sender.close()
    assert post_server.hits(secret_path) == 1  # a 400 is not retried
    shown = str(caught.value) + repr(caught.value.__cause__) + caplog.text
    assert "HTTP 400" in str(caught.value)
    assert "SECRETSECRET" not in shown and TOKEN not in shown
    assert caught.value.location == redact_url(target.url)
    assert "HTTP Request: POST" in caplog.text  # httpx did log the request, scrubbed


def test_misp_event_is_added_then_updated(post_server: postserver.PostServer) -> None:
    uuid = event_uuid(rich_brief())
    post_server.route(f"/events/view/{uuid}", Reply(status=404), Reply(status=200))
    post_server.route("/events/add", body=b'{"Event": {}}')
    post_server.route(f"/events/edit/{uuid}", body=b'{"Event": {}}')
    target = misp_target(post_server.url("/"), {"HUNTBRIEF_MISP_KEY": KEY})
    sender = _sender()
    try:
        assert sender.send(target, rich_brief(), updated=False) == "added"
        assert sender.send(target, rich_brief(), updated=True) == "updated"
    finally:
        sender.close()
    assert json.loads(post_server.bodies["/events/add"][0])["Event"]["uuid"] == uuid
    assert json.loads(post_server.bodies[f"/events/edit/{uuid}"][0])["Event"]["info"] == rich_brief().title
    assert post_server.requests("/events/add")[0]["authorization"] == KEY


def test_misp_refusing_the_key_is_a_clear_error_without_the_key(
    post_server: postserver.PostServer, caplog: pytest.LogCaptureFixture
) -> None:
    post_server.route(f"/events/view/{event_uuid(rich_brief())}", Reply(status=403))
    target = misp_target(post_server.url(""), {"HUNTBRIEF_MISP_KEY": KEY})
    caplog.set_level(logging.DEBUG)
    sender = _sender()
    try:
        with pytest.raises(PublishError, match=r"MISP refused the API key \(HTTP 403\)") as caught:
            sender.send(target, rich_brief(), updated=False)
    finally:
        sender.close()
    assert post_server.hits("/events/add") == 0
    assert KEY not in str(caught.value) and KEY not in caplog.text


def test_misp_target_needs_the_key_in_the_environment() -> None:
    with pytest.raises(ConfigError, match="HUNTBRIEF_MISP_KEY"):
        misp_target("https://misp.example", {})
    with pytest.raises(ConfigError, match="not an http"):
        misp_target("ftp://misp.example", {"HUNTBRIEF_MISP_KEY": KEY})
    target = misp_target("https://misp.example/", {"HUNTBRIEF_MISP_KEY": KEY})
    assert target.url == "https://misp.example" and target.min_level is None
    assert target.id == misp_target("https://misp.example", {"HUNTBRIEF_MISP_KEY": "rotated"}).id
    assert KEY not in target.label and KEY not in target.id
