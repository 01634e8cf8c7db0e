"""The Client against a real API server: requests in flight when another times out, or when the server dies."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from control.client import Client
from control.errors import ApiError
from control.plane import ControlPlane
from tests.conftest import FAST
from tests.helpers import free_port_pair, wait_for


def pod(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "pause"}]}}


def hold(plane: ControlPlane, verb: str, name: str) -> tuple[asyncio.Event, asyncio.Event]:
    """Make the server hold `verb` of the object called `name` until released: (entered, release)."""
    assert plane.server is not None and plane.server.api is not None
    verbs = plane.server.api.verbs
    real = verbs[verb]
    entered, release = asyncio.Event(), asyncio.Event()

    async def held(body: dict, user: str) -> tuple[int, dict]:
        if body.get("name") == name or (body.get("object") or {}).get("metadata", {}).get("name") == name:
            entered.set()
            await release.wait()
        return await real(body, user)

    verbs[verb] = held
    return entered, release


@pytest.mark.parametrize("sockets", ["zmtp", "libzmq"])
async def test_a_timed_out_request_does_not_drop_the_answers_of_the_others(plane: ControlPlane, sockets: str,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """One request times out and the client reconnects: another request, answered a moment later on the
    same connection, still gets its answer (and not a timeout of its own, which would make the next one
    time out in turn). With our Dealer and with libzmq's."""
    monkeypatch.setattr("control.client.REQUEST_SOCKET", sockets)
    client = plane.client("test")
    client.timeout = 30.0  # a dropped answer would show as a 30 s wait, far past this test's bounds
    try:
        await client.create(pod("late"))
        late_entered, late_release = hold(plane, "get", "late")
        slow_entered, _never = hold(plane, "create", "slow")
        late = asyncio.create_task(client.get("pods", "late"))
        await asyncio.wait_for(late_entered.wait(), 5)
        with pytest.raises(ApiError) as e:
            await client.request("create", {"object": pod("slow")}, timeout=0.3)
        assert e.value.code == 503 and "did not answer create" in e.value.message
        assert slow_entered.is_set() and client.reconnects == 1
        late_release.set()
        got = await asyncio.wait_for(late, 5)
        assert got["metadata"]["name"] == "late"
        assert (client._requests is not None) == (sockets == "zmtp")
    finally:
        await client.close()


def _store_and_apiserver(data: Path, address: str) -> ControlPlane:
    """A control plane of only the store and the API server on `address`, to stop and start again there."""
    return ControlPlane(data, address, scheduler=False, controllers=False, bookmark_interval=0.2, timings=FAST)


async def test_a_request_in_flight_when_the_server_dies_fails_without_waiting_for_its_timeout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Kill the API server under a write: the client learns it from the lost connection, not 30 s later.
    Our Dealer reports the connection it lost; libzmq's DEALER cannot (its requests wait for the timeout)."""
    monkeypatch.setattr("control.client.REQUEST_SOCKET", "zmtp")
    data = tmp_path / "data"
    first = _store_and_apiserver(data, f"tcp://127.0.0.1:{free_port_pair()}")
    await first.start()
    second = None
    assert first.server is not None and first.credentials is not None
    client = Client(first.server.address, token=first.credentials.admin, identity="test", timeout=30.0, retry_for=20)
    try:
        await client.connect()
        entered, _never = hold(first, "create", "hang")
        write = asyncio.create_task(client.create(pod("hang")))
        await asyncio.wait_for(entered.wait(), 5)
        await first.stop()
        second = _store_and_apiserver(data, first.server.address)
        await second.start()
        with pytest.raises(ApiError) as e:
            await asyncio.wait_for(write, 10)
        assert e.value.code == 503 and "the connection was lost" in e.value.message
        with pytest.raises(ApiError) as gone:  # never committed; and the client talks to the new server
            await client.get("pods", "hang")
        assert gone.value.code == 404
    finally:
        await client.close()
        if second is not None:
            await second.stop()


async def test_a_reconnect_that_gave_up_ends_with_the_servers_next_answer(tmp_path: Path) -> None:
    """The API server is away longer than retry_for (kill -9 of the control plane, started again by hand): the
    reconnect gives up and unreachable_since stays, which the dashboard's title shows. Once a server answers
    again, at the same address, the socket has reconnected by itself, so a request would get its answer with
    no hello said: the client must still say hello, so that the outage ends and the new server is noticed."""
    data = tmp_path / "data"
    first = _store_and_apiserver(data, f"tcp://127.0.0.1:{free_port_pair()}")
    await first.start()
    second = None
    assert first.server is not None and first.credentials is not None
    client = Client(first.server.address, token=first.credentials.admin, identity="test", timeout=1.0, retry_for=0.5)
    changed: list[str] = []
    client.on_server_change.append(changed.append)
    try:
        await client.connect()
        old = client.server_id
        await first.stop()
        with pytest.raises(ApiError) as e:
            await client.get("pods", "nope")
        assert e.value.code == 503 and client.unreachable_since is not None
        second = _store_and_apiserver(data, first.server.address)
        await second.start()
        await wait_for(lambda: _answers(client), timeout=10, what="an answer from the new server")
        assert client.unreachable_since is None
        assert client.server_id != old and changed == [client.server_id]
    finally:
        await client.close()
        if second is not None:
            await second.stop()


async def _answers(client: Client) -> bool:
    try:
        await client.get("pods", "nope")
    except ApiError as e:
        return e.code == 404
    return True
