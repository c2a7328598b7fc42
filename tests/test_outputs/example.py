"""Run the bundled offline example (examples/huntbrief.toml) through the real runner, clock frozen."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from huntbrief.adapters.fetch import FetchPolicy, HttpxFetcher
from huntbrief.adapters.output import BriefWriter
from huntbrief.adapters.render import get_renderers
from huntbrief.adapters.store import open_store
from huntbrief.config import sources_from_args
from huntbrief.context import load_context
from huntbrief.model import Brief
from huntbrief.runner import Runner

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "huntbrief.toml"


def run_example(folder: Path, when: datetime, formats: tuple[str, ...]) -> list[Brief]:
    """Run the example once into `folder` (state.db, out/) at time `when`; return the stored briefs."""
    sources, _ = sources_from_args([str(EXAMPLE)], ROOT)
    store = open_store(folder / "state.db")
    runner = Runner(
        fetcher=HttpxFetcher(FetchPolicy()),
        store=store,
        ctx=load_context(),
        writer=BriefWriter(folder / "out", get_renderers(formats)),
        clock=lambda: when,
    )

    async def go() -> None:
        try:
            stats = await runner.run_once(sources)
            assert not stats.items_failed, stats.items_failed
        finally:
            await runner.fetcher.aclose()

    try:
        asyncio.run(go())
        return store.briefs()
    finally:
        runner.close()
        store.close()
