"""Start-up cost: `huntbrief iocs` on a text file loads only what it needs.

Each heavy library costs 10-150 ms of every run; they load lazily in the commands that use them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("httpx", "sqlalchemy", "pydantic", "rich", "lxml", "trafilatura", "stix2", "fastapi", "sklearn")
PROBE = """
import json, sys
sys.argv = ["huntbrief", "iocs", sys.argv[1], "--format", "text"]
from huntbrief.app.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_iocs_on_text_imports_no_heavy_library(tmp_path: Path) -> None:
    article = tmp_path / "report.txt"
    article.write_text("The loader calls back to hxxp://evil-cdn[.]top/gate.php and 45.61.137.9.\n")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(article)], capture_output=True, text=True, check=True, timeout=60
    )
    lines = done.stdout.strip().splitlines()
    assert "http://evil-cdn.top/gate.php" in lines  # the command really ran
    loaded = set(json.loads(lines[-1]))
    assert not loaded.intersection(HEAVY), sorted(loaded.intersection(HEAVY))
