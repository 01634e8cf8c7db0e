"""The `logs` verb's paging: how a log longer than one answer is read (the kubelet's side is nodes/kubelet.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable


async def log_pages(request: Callable[[dict], Awaitable[dict]], body: dict) -> AsyncIterator[dict]:
    """The answers to one `logs` request, page after page: a log longer than a page (nodes/kubelet.py LOG_PAGE)
    comes in several answers, the next asked for with the `until` and `skip` of the one before. The last
    answer's `offset` is where a follower goes on from."""
    answer = await request(body)
    yield answer
    while answer.get("more") and isinstance(answer.get("until"), int):
        answer = await request(dict(body, until=answer["until"], skip=answer.get("skip", 0)))
        yield answer
