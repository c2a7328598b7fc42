#!/usr/bin/env python3
"""Regenerate src/huntbrief/catalog/data/attack-enterprise.json from an ATT&CK Enterprise STIX bundle.

Usage: python scripts/build_attack.py PATH/TO/enterprise-attack.json [-o OUTPUT]

Stdlib plus huntbrief only. Deterministic: the same bundle always gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "src") not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(REPO / "src"))

from huntbrief.catalog.attack import compact_from_stix, render_compact  # noqa: E402

DEFAULT_OUTPUT = REPO / "src" / "huntbrief" / "catalog" / "data" / "attack-enterprise.json"


def main(argv: list[str] | None = None) -> int:
    """Read the bundle, convert it, write the compact catalogue; returns the exit status."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("bundle", type=Path, help="ATT&CK Enterprise STIX bundle (JSON)")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT, help="where to write")
    args = parser.parse_args(argv)
    try:
        bundle = json.loads(args.bundle.read_text(encoding="utf-8"))
        compact = compact_from_stix(bundle)
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        print(f"build_attack: {args.bundle}: {exc}", file=sys.stderr)
        return 1
    text = render_compact(compact)
    args.output.write_text(text, encoding="utf-8")
    print(
        f"wrote {args.output} ({len(text.encode('utf-8')):,} bytes): ATT&CK {compact['version']}, "
        f"{len(compact['techniques'])} techniques, {len(compact['tactics'])} tactics, "
        f"{len(compact['groups'])} groups, {len(compact['software'])} software, "
        f"{len(compact['revoked'])} revoked"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
