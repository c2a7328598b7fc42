#!/usr/bin/env python3
"""Regenerate src/huntbrief/catalog/data/kev.json from CISA's Known Exploited Vulnerabilities JSON.

Usage: python scripts/build_kev.py [PATH/TO/known_exploited_vulnerabilities.json] [-o OUTPUT]

Keeps only what severity needs (cveID, vendorProject, product, dateAdded, knownRansomwareCampaignUse,
plus the catalog version and release date). The catalog is CC0 (cisagov/kev-data). Stdlib plus
huntbrief only; deterministic: the same input always gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "src") not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(REPO / "src"))

from huntbrief.catalog.kev import PACKAGED_PATH, reduce_feed, render_snapshot  # noqa: E402
from huntbrief.errors import CatalogError  # noqa: E402

DEFAULT_INPUT = REPO.parent / "shared" / "data" / "kev" / "known_exploited_vulnerabilities.json"


def main(argv: list[str] | None = None) -> int:
    """Read the feed, validate and reduce it, write the snapshot; returns the exit status."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("feed", type=Path, nargs="?", default=DEFAULT_INPUT, help="CISA KEV JSON")
    parser.add_argument("-o", "--output", type=Path, default=PACKAGED_PATH, help="where to write")
    args = parser.parse_args(argv)
    try:
        reduced = reduce_feed(json.loads(args.feed.read_text(encoding="utf-8")), str(args.feed))
    except (OSError, json.JSONDecodeError, CatalogError) as exc:
        print(f"build_kev: {args.feed}: {exc}", file=sys.stderr)
        return 1
    args.output.write_text(render_snapshot(reduced), encoding="utf-8")
    print(f"wrote {args.output}: {reduced['count']} CVEs, catalog {reduced['catalogVersion']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
