"""The packaged CISA KEV snapshot, its validation, and the preference for a newer user copy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from huntbrief.catalog.kev import PACKAGED_PATH, load_kev, parse_kev, read_kev, reduce_feed, render_snapshot
from huntbrief.errors import CatalogError


def feed(version: str, released: str, *cves: str) -> dict[str, Any]:
    """A KEV feed in CISA's own format (with fields severity does not keep)."""
    rows = [
        {"cveID": c, "vendorProject": "Progress", "product": "MOVEit Transfer", "dateAdded": "2023-06-02",
         "knownRansomwareCampaignUse": "Known", "shortDescription": "SQL injection", "notes": ""}
        for c in cves
    ]  # fmt: skip
    return {"title": "CISA KEV", "catalogVersion": version, "dateReleased": released, "count": len(rows),
            "vulnerabilities": rows}  # fmt: skip


def test_packaged_snapshot_is_dated_and_complete() -> None:
    kev = load_kev()
    assert (kev.version, kev.released.date().isoformat(), len(kev)) == ("2025.08.25", "2025-08-25", 1404)
    moveit = kev.get("cve-2023-34362")
    assert moveit is not None and moveit.ransomware and moveit.vendor == "Progress"
    assert "CVE-2021-44228" in kev and "CVE-1999-0001" not in kev
    assert sum(e.ransomware for e in kev.entries.values()) == 293
    raw = json.loads(PACKAGED_PATH.read_text(encoding="utf-8"))
    assert set(raw["vulnerabilities"][0]) == {
        "cveID", "vendorProject", "product", "dateAdded", "knownRansomwareCampaignUse",
    }  # fmt: skip


def test_reduce_keeps_only_what_severity_needs_and_is_stable() -> None:
    raw = feed("2026.01.02", "2026-01-02T10:00:00.000Z", "CVE-2026-0002", "CVE-2026-0001")
    text = render_snapshot(reduce_feed(raw, "feed"))
    assert text == render_snapshot(reduce_feed(json.loads(text), "again"))
    assert "shortDescription" not in text
    assert text.index("CVE-2026-0001") < text.index("CVE-2026-0002")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.update(vulnerabilities=[]), "vulnerabilities must be a non-empty list"),
        (lambda f: f.update(count=7), "count says 7 but 1 vulnerabilities are listed"),
        (lambda f: f["vulnerabilities"][0].update(cveID="CVE-20x"), "'CVE-20x' is not a CVE ID"),
        (lambda f: f["vulnerabilities"][0].update(dateAdded="soon"), "bad dateAdded"),
        (lambda f: f["vulnerabilities"][0].pop("product"), "must have string fields"),
        (lambda f: f.update(dateReleased="yesterday"), "dateReleased 'yesterday' is not an ISO date-time"),
        (lambda f: f.pop("catalogVersion"), "catalogVersion must be a non-empty string"),
    ],
)
def test_invalid_feeds_are_refused(change: Any, message: str) -> None:
    raw = feed("2026.01.02", "2026-01-02T10:00:00Z", "CVE-2026-0001")
    change(raw)
    with pytest.raises(CatalogError, match=message) as caught:
        parse_kev(raw, "https://example.test/kev.json")
    assert caught.value.location == "https://example.test/kev.json"


def test_a_newer_user_copy_wins_an_older_or_damaged_one_does_not(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    user = tmp_path / "kev.json"
    assert load_kev(user) is load_kev()  # absent
    user.write_text(
        render_snapshot(reduce_feed(feed("2099.01.01", "2099-01-01T00:00:00Z", "CVE-2099-0001"), "f"))
    )
    newer = load_kev(user)
    assert newer.version == "2099.01.01" and "CVE-2099-0001" in newer and newer.source == str(user)
    user.write_text(
        render_snapshot(reduce_feed(feed("2020.01.01", "2020-01-01T00:00:00Z", "CVE-2020-0001"), "f"))
    )
    assert load_kev(user).version == "2025.08.25"
    user.write_text("{not json")
    assert load_kev(user).version == "2025.08.25"
    assert "huntbrief data update" in caplog.text
    with pytest.raises(CatalogError, match="invalid JSON") as caught:
        read_kev(user)
    assert caught.value.location == f"{user}:1"
