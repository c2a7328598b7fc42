"""CISA's Known Exploited Vulnerabilities (KEV) catalog: a dated snapshot, validated at load.

The packaged snapshot (`data/kev.json`) is built by `scripts/build_kev.py`; `huntbrief data update`
writes a fresher copy into the user data directory, and `load_kev` prefers whichever is newer.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from platformdirs import user_data_dir

from huntbrief.errors import CatalogError

PACKAGED_PATH = Path(__file__).with_name("data") / "kev.json"
FEED_URL = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
USER_FILE = "kev.json"
FIELDS = ("cveID", "vendorProject", "product", "dateAdded", "knownRansomwareCampaignUse")
_CVE = re.compile(r"CVE-\d{4}-\d{4,7}")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class KevEntry:
    """One catalog entry: the CVE, who makes the product, when CISA added it, ransomware use."""

    cve: str
    vendor: str
    product: str
    added: date
    ransomware: bool


@dataclass(frozen=True, slots=True)
class KevCatalog:
    """The KEV catalog as a read-only mapping CVE ID → entry; `in` and iteration work on CVE IDs."""

    version: str
    released: datetime
    entries: Mapping[str, KevEntry]
    source: str = ""

    def __contains__(self, cve: object) -> bool:
        return isinstance(cve, str) and cve.upper() in self.entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, cve: str) -> KevEntry | None:
        """The entry for `cve` (any case), or None when it is not in the catalog."""
        return self.entries.get(cve.upper())


def default_user_path() -> Path:
    """Where `huntbrief data update` keeps the refreshed catalog (the platform's user data directory)."""
    return Path(user_data_dir("huntbrief", appauthor=False)) / USER_FILE


def _released(raw: Mapping[str, Any], where: str) -> datetime:
    value = raw.get("dateReleased")
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise CatalogError(f"dateReleased {value!r} is not an ISO date-time", where) from None


def _entry(item: object, index: int, where: str) -> KevEntry:
    if not isinstance(item, Mapping) or not all(isinstance(item.get(f), str) for f in FIELDS):
        raise CatalogError(f"vulnerabilities[{index}] must have string fields {', '.join(FIELDS)}", where)
    cve = item["cveID"].strip().upper()
    if not _CVE.fullmatch(cve):
        raise CatalogError(f"vulnerabilities[{index}]: {item['cveID']!r} is not a CVE ID", where)
    try:
        added = date.fromisoformat(item["dateAdded"])
    except ValueError:
        raise CatalogError(f"vulnerabilities[{index}] ({cve}): bad dateAdded", where) from None
    ransomware = item["knownRansomwareCampaignUse"].strip().lower() == "known"
    return KevEntry(cve, item["vendorProject"].strip(), item["product"].strip(), added, ransomware)


def parse_kev(raw: object, where: str) -> KevCatalog:
    """Validate CISA's KEV JSON (the full feed or our reduced snapshot) into a KevCatalog.

    Raises CatalogError naming `where` and the offending entry.
    """
    if not isinstance(raw, Mapping):
        raise CatalogError("expected a JSON object with catalogVersion and vulnerabilities", where)
    version, items = raw.get("catalogVersion"), raw.get("vulnerabilities")
    if not isinstance(version, str) or not version.strip():
        raise CatalogError("catalogVersion must be a non-empty string", where)
    if not isinstance(items, list) or not items:
        raise CatalogError("vulnerabilities must be a non-empty list", where)
    if "count" in raw and raw["count"] != len(items):
        raise CatalogError(f"count says {raw['count']!r} but {len(items)} vulnerabilities are listed", where)
    entries = {e.cve: e for e in (_entry(item, i, where) for i, item in enumerate(items))}
    return KevCatalog(version.strip(), _released(raw, where), MappingProxyType(entries), where)


def reduce_feed(raw: object, where: str) -> dict[str, Any]:
    """Validate a KEV feed and keep only what severity needs: catalog version/date and five fields per CVE."""
    catalog = parse_kev(raw, where)
    assert isinstance(raw, Mapping)  # checked by parse_kev
    return {
        "title": str(raw.get("title", "CISA Catalog of Known Exploited Vulnerabilities")),
        "catalogVersion": catalog.version,
        "dateReleased": str(raw["dateReleased"]),
        "count": len(catalog),
        "license": "CC0-1.0 (US Government work, cisagov/kev-data)",
        "vulnerabilities": [
            {f: str(item[f]) for f in FIELDS}
            for item in sorted(raw["vulnerabilities"], key=lambda v: (v["dateAdded"], v["cveID"]))
        ],
    }


def render_snapshot(reduced: Mapping[str, Any]) -> str:
    """The reduced catalog as stable JSON text, one vulnerability per line (small, readable diffs)."""
    head = {k: v for k, v in reduced.items() if k != "vulnerabilities"}
    rows = ",\n".join("    " + json.dumps(v, ensure_ascii=False) for v in reduced["vulnerabilities"])
    opening = json.dumps(head, ensure_ascii=False, indent=2)[:-2]
    return f'{opening},\n  "vulnerabilities": [\n{rows}\n  ]\n}}\n'


def read_kev(path: Path) -> KevCatalog:
    """Read and validate one KEV JSON file; CatalogError names the file."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"cannot read: {exc}", str(path)) from exc
    except json.JSONDecodeError as exc:
        raise CatalogError(f"invalid JSON: {exc.msg}", f"{path}:{exc.lineno}") from exc
    return parse_kev(raw, str(path))


def load_kev(user_path: Path | None = None) -> KevCatalog:
    """The packaged snapshot, or the user's refreshed copy at `user_path` when it is valid and newer.

    A damaged user copy is skipped with one warning (the packaged snapshot still works).
    """
    packaged = _packaged()
    if user_path is None or not user_path.is_file():
        return packaged
    try:
        user = read_kev(user_path)
    except CatalogError as exc:
        log.warning("ignoring the refreshed KEV catalog (%s); run `huntbrief data update` again", exc)
        return packaged
    return user if (user.released, user.version) > (packaged.released, packaged.version) else packaged


@lru_cache(maxsize=1)
def _packaged() -> KevCatalog:
    return read_kev(PACKAGED_PATH)
