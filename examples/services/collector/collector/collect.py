"""Load the feeds (FEED.txt: one address per line, `#` comments) into the store."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from blockstore import store


def addresses(feed: Path) -> list[str]:
    """The addresses of one feed, normalised; a line that is not an address is an error."""
    found = []
    for number, line in enumerate(feed.read_text(encoding="utf-8").splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            found.append(str(ipaddress.ip_address(text)))
        except ValueError:
            raise ValueError(f"{feed.name}:{number}: {text!r} is not an IP address") from None
    return found


def collect(feeds: Path, database: Path) -> dict[str, int]:
    """Add every feed of `feeds` to the store: {source: addresses new to it}."""
    return {
        feed.stem: store.add(database, feed.stem, addresses(feed))
        for feed in sorted(feeds.glob("*.txt"))
    }
