"""LIST, then WATCH from the list's resourceVersion, and relist with backoff whenever the watch ends.

This is the loop of client-go's reflector, which k0s's controllers sit on. Two k0spy parts need it: the
join server's cache of bootstrap-token Secrets (joinapi/secretcache.py) and the CSR approver
(components/csrapprover.py). What they do with a list and with each event is theirs; when to relist is
this loop's: after any end of a watch (the server's timeout, 410 Gone, a broken connection, the API
server going away), at once the first time and then with backoff, so that a flapping API server is not
hammered and a healthy one is relisted without delay.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from k0spy.supervisor.backoff import BackoffPolicy

Doc = dict[str, Any]
# the server ends each watch after this long (plus up to 10 % so that many clients do not relist together);
# the client gives up on a silent stream a little later (kube.client.KubeClient.watch), so even a watch
# whose connection died without a reset (no FIN, no RST) ends after about 2 minutes
WATCH_SECONDS = 120
# relist at once after a break, then 0.1 s doubling to 5 s; a watch that lasted 10 s resets the count
RELIST_BACKOFF = BackoffPolicy(first=0.0, initial=0.1, cap=5.0, reset_after=10.0)


class ListWatchSource(Protocol):
    """What the loop needs from the API (k0spy.kube.client.KubeClient has it)."""

    async def list_versioned(self, path: str, *, field_selector: str = "",
                             what: str = "") -> tuple[list[Doc], str]: ...

    def watch(self, path: str, resource_version: str, *, field_selector: str = "",
              timeout_seconds: int = 300, what: str = "") -> AsyncIterator[tuple[str, Doc]]: ...


async def list_and_watch(
    source: ListWatchSource,
    path: str,
    *,
    field_selector: str = "",
    what: str,
    on_list: Callable[[list[Doc], str], Awaitable[None]],
    on_event: Callable[[str, Doc], Awaitable[None]],
    on_end: Callable[[Exception | None], Awaitable[None]],
    backoff: BackoffPolicy = RELIST_BACKOFF,
    watch_seconds: int = WATCH_SECONDS,
) -> None:
    """Run until cancelled: `on_list` after every LIST, `on_event` per watch event, `on_end` after each
    round (with the error when it broke, None when the server ended the stream)."""
    attempt = 0
    while True:
        began = time.monotonic()
        error: Exception | None = None
        try:
            items, version = await source.list_versioned(path, field_selector=field_selector,
                                                         what=f"listing {what}")
            await on_list(items, version)
            events = source.watch(path, version, field_selector=field_selector,
                                  timeout_seconds=int(watch_seconds * random.uniform(1.0, 1.1)),
                                  what=f"watching {what}")
            async for kind, obj in events:
                await on_event(kind, obj)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # API down, 410 Gone, broken stream: relist
            error = err
        await on_end(error)
        attempt = backoff.next_attempt(attempt, time.monotonic() - began)
        await asyncio.sleep(backoff.next_delay(attempt))
        attempt += 1
