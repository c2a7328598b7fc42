"""A small keep-alive HTTP server for the polling benchmark: N feeds of M items on loopback addresses.

Run as `python bench/feedserver.py FEEDS ITEMS HOSTS PORT`; it prints `ready` when listening on
127.0.0.2 … 127.0.0.(HOSTS+1), every feed answers with an ETag and honours If-None-Match (304).
Loopback only: it never binds a public or private-range address.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime


def make_feed(n: int, items: int, host: str, port: int) -> bytes:
    """An RSS 2.0 feed with `items` realistic entries."""
    base = datetime(2026, 11, 1, tzinfo=UTC)
    entries = []
    for i in range(items):
        when = format_datetime(base + timedelta(hours=n * items + i))
        link = f"http://{host}:{port}/feed{n}/post-{i}.html"
        entries.append(
            f"<item><title>Feed {n} post {i}: new loader campaign targets finance</title><link>{link}</link>"
            f'<guid isPermaLink="true">{link}</guid><pubDate>{when}</pubDate>'
            f"<description>&lt;p&gt;Researchers observed a phishing wave delivering a loader; the C2 "
            f"domain was evil{n}-{i}[.]com and the payload was dropped in %APPDATA%.&lt;/p&gt;"
            "</description></item>"
        )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {n}</title>'
        f"<link>http://{host}:{port}/</link>{''.join(entries)}</channel></rss>"
    ).encode()


async def main(feeds: int, items: int, hosts: int, port: int) -> None:
    docs = {}
    for n in range(feeds):
        host = f"127.0.0.{2 + n % hosts}"
        docs[(host, f"/feed/{n}.xml")] = make_feed(n, items, host, port)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host = writer.get_extra_info("sockname")[0]
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                body = docs.get((host, path))
                etag = f'"{path}-v1"'
                if body is None:
                    status, body, extra = "404 Not Found", b"", ""
                elif headers.get("if-none-match") == etag:
                    status, body, extra = "304 Not Modified", b"", f"ETag: {etag}\r\n"
                else:
                    status, extra = "200 OK", f"ETag: {etag}\r\nContent-Type: application/rss+xml\r\n"
                writer.write(
                    f"HTTP/1.1 {status}\r\n{extra}Content-Length: {len(body)}\r\n\r\n".encode() + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
            writer.close()

    servers = [await asyncio.start_server(handle, f"127.0.0.{2 + h}", port) for h in range(hosts)]
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main(*(int(a) for a in sys.argv[1:5])))
