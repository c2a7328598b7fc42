"""Crash safety: kill `huntbrief run` at arbitrary points, run again, and nothing is lost or doubled."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.localserver import LocalServer, Reply

PAGE = (
    "<html><body><article><h1>Report {n}</h1><p>Report number {n}. The actor ran vssadmin delete shadows "
    "/all /quiet and then encrypted files on every host. The C2 server was at 185.220.101[.]{n}.</p>"
    "<p>{filler}</p></article></body></html>"
)
ITEMS = 16


def _serve(server: LocalServer) -> None:
    entries = "".join(
        f"<item><title>Report {n}</title><link>{server.url(f'/r/{n}')}</link><guid>g{n}</guid>"
        f"<pubDate>{format_datetime(datetime(2026, 11, 1 + n, tzinfo=UTC))}</pubDate></item>"
        for n in range(ITEMS)
    )
    server.route("/feed.xml", body=f'<rss version="2.0"><channel><title>t</title>{entries}</channel></rss>')
    for n in range(ITEMS):
        body = PAGE.format(n=n + 10, filler="Lateral movement followed over remote desktop. " * 20)
        server.route(f"/r/{n}", Reply(body=body, delay=0.15))


def _cli(server: LocalServer, tmp: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "huntbrief",
        "run",
        server.url("/feed.xml"),
        "--db",
        str(tmp / "s.db"),
        "--out",
        str(tmp / "out"),
        "--allow-private-networks",
        "--quiet",
    ]


def _done_count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as con:
            return int(con.execute("select count(*) from items where status='done'").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def _run_and_kill(cmd: list[str], db: Path, after: int) -> None:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while _done_count(db) < after and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.timeout(600)  # several real `huntbrief run` processes, each loading the catalogues
def test_killed_runs_lose_nothing_and_duplicate_nothing(local_server: LocalServer, tmp_path: Path) -> None:
    _serve(local_server)
    cmd, db = _cli(local_server, tmp_path), tmp_path / "s.db"
    for after in (1, 6, 11):
        _run_and_kill(cmd, db, after)
    final = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    with sqlite3.connect(db) as con:
        assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
        assert con.execute("select count(*) from items where status='done'").fetchone()[0] == ITEMS
        assert con.execute("select count(*) from briefs").fetchone()[0] == ITEMS
        per_key = con.execute("select key, count(*) from brief_history group by key").fetchall()
    assert len(per_key) == ITEMS and all(count == 1 for _, count in per_key)  # each article analysed once
    out = tmp_path / "out"
    assert len([p for p in out.glob("*.md") if p.name != "index.md"]) == ITEMS
    assert len([p for p in out.glob("*.json") if p.name != "index.json"]) == ITEMS
    assert not list(out.glob(".*.huntbrief-tmp"))  # no half-written temporary files left behind
    for n in range(ITEMS):
        assert local_server.hits(f"/r/{n}") >= 1


def test_every_keeps_polling_and_sigterm_exits_cleanly(local_server: LocalServer, tmp_path: Path) -> None:
    _serve(local_server)
    cmd = [*_cli(local_server, tmp_path), "--every", "1s"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while local_server.hits("/feed.xml") < 2 and time.monotonic() < deadline:  # a second poll happened
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    lines = [ln for ln in out.splitlines() if ln.startswith("feeds:")]
    assert len(lines) >= 2, out  # one summary line per pass
    assert f"items: {ITEMS} new" in lines[0]
    assert "items: 0 new" in lines[1]
