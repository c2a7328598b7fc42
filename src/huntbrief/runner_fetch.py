"""Reading a pass's feeds and articles: over HTTP through the injected fetcher, or from local files.

Remote feeds use conditional GET with the ETag / Last-Modified stored for them; the new ones are
saved only once the feed parsed. Local files are read under the policy's size cap, and a feed's
articles may be local only when the feed itself is a local file and they sit in its folder.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from huntbrief.adapters.fetch import Fetcher
from huntbrief.adapters.local import is_local, local_path, read_capped
from huntbrief.adapters.store import Store
from huntbrief.errors import FetchError
from huntbrief.model import FeedParse, FeedSource, FeedState
from huntbrief.runner_select import RunPolicy

Parser = Callable[[bytes, FeedSource, dict[str, str] | None, str], Awaitable[FeedParse]]


async def fetch_feed(
    source: FeedSource,
    *,
    fetcher: Fetcher,
    store: Store,
    policy: RunPolicy,
    parse: Parser,
    clock: Callable[[], datetime],
) -> FeedParse | None:
    """The parsed feed, or None when the server answers not modified; FetchError on HTTP >= 400."""
    if is_local(source.url):
        path = local_path(source.url)
        data = read_capped(path, policy.max_local_bytes, source.url)
        return await parse(data, source, None, path.resolve().as_uri())
    state = store.feed_state(source.url)
    result = await fetcher.fetch(
        source.url,
        etag=state.etag if state else None,
        last_modified=state.last_modified if state else None,
    )
    if result.not_modified:
        return None
    if result.status >= 400:
        raise FetchError(f"HTTP {result.status}", location=source.url)
    headers = {k.lower(): v for k, v in result.headers}
    parsed = await parse(result.content, source, headers, source.url)
    store.save_feed_state(
        FeedState(source.url, result.header("etag"), result.header("last-modified")), now=clock()
    )
    return parsed


async def fetch_page(source: FeedSource, url: str, *, fetcher: Fetcher, policy: RunPolicy) -> bytes:
    """The article at `url` of an item of `source`; FetchError when it can't or may not be read."""
    if not is_local(url):
        result = await fetcher.fetch(url)
        if result.status >= 400:
            raise FetchError(f"HTTP {result.status}", location=url)
        return result.content
    if not (policy.allow_local_articles and is_local(source.url)):
        raise FetchError("a remote feed may not point at a local file", location=url)
    path = local_path(url).resolve()
    root = local_path(source.url).resolve().parent
    if not path.is_relative_to(root):
        raise FetchError("a local feed may only point at files in its own folder", location=url)
    return read_capped(path, policy.max_local_bytes, url)
