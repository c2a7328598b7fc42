"""Check KQL with Microsoft's Kusto language service (node, `tools/kql-validate`) and regexes with RE2.

`KqlChecker.find()` returns None when node or the npm package is missing, so callers can skip.
Every `matches regex` pattern the language service reports is compiled with google-re2, the
engine Kusto uses; `re2_problem` does that one check alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from huntbrief.catalog.query_schemas import Schema, load_kql_schemas
from huntbrief.errors import BackendError

TOOL_DIR = Path(__file__).resolve().parents[3] / "tools" / "kql-validate"
PACKAGE = Path("node_modules") / "@kusto" / "language-service-next"


def re2_problem(pattern: str) -> str | None:
    """Why RE2 rejects `pattern`, or None when it compiles (None too when google-re2 is absent)."""
    try:
        import re2  # type: ignore[import-untyped,unused-ignore]
    except ImportError:  # pragma: no cover - google-re2 is a test dependency
        return None
    options = re2.Options()
    options.log_errors = False
    try:
        re2.compile(pattern, options)
    except re2.error as exc:
        return f"RE2 rejects {pattern!r}: {exc}"
    return None


@dataclass(frozen=True, slots=True)
class KqlChecker:
    """Runs `validate.js` with node on batches of queries against named table schemas."""

    node: str
    tool_dir: Path
    schemas: Mapping[str, Schema]

    @classmethod
    def find(
        cls, tool_dir: Path | None = None, schemas: Mapping[str, Schema] | None = None
    ) -> KqlChecker | None:
        """A checker when node and the installed npm package are present, else None."""
        folder = Path(os.environ.get("HUNTBRIEF_KQL_VALIDATE", tool_dir or TOOL_DIR))
        node = shutil.which("node")
        if node is None or not (folder / PACKAGE).is_dir() or not (folder / "validate.js").is_file():
            return None
        return cls(node, folder, schemas if schemas is not None else load_kql_schemas())

    def check(
        self, queries: Sequence[tuple[str, str, str]], timeout: float = 120.0
    ) -> dict[str, tuple[str, ...]]:
        """Problems per query id for (id, schema name, text) triples; an empty tuple means valid."""
        payload = {
            "schemas": {
                name: {t: dict(c) for t, c in tables.items()} for name, tables in self.schemas.items()
            },
            "queries": [{"id": qid, "schema": schema, "text": text} for qid, schema, text in queries],
        }
        try:
            done = subprocess.run(  # noqa: S603 - a fixed script with our own input on stdin
                [self.node, str(self.tool_dir / "validate.js")],
                input=json.dumps(payload),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BackendError(f"KQL validator failed: {exc}", location=str(self.tool_dir)) from exc
        if done.returncode != 0:
            raise BackendError(f"KQL validator failed: {done.stderr[-500:]}", location=str(self.tool_dir))
        return {r["id"]: _problems(r) for r in json.loads(done.stdout)["results"]}


def _problems(result: Mapping[str, object]) -> tuple[str, ...]:
    errors = result.get("errors", [])
    regexes = result.get("regexes", [])
    assert isinstance(errors, list) and isinstance(regexes, list)
    found = [f"{e['code']} at {e['start']}: {e['message']}" for e in errors]
    found += [p for r in regexes if (p := re2_problem(str(r))) is not None]
    return tuple(found)
