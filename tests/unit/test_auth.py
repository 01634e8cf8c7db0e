"""Credentials: who a token is, and how changes made by `kube-tui token ...` (another process) reach a running server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from control.apiserver.auth import ADMIN, Credentials
from control.errors import ApiError


def _unauthorized(creds: Credentials, token: str) -> str:
    with pytest.raises(ApiError) as e:
        creds.authenticate(token)
    assert e.value.code == 401
    return e.value.message


def test_each_kind_of_credential_and_the_wrong_ones(tmp_path: Path) -> None:
    creds = Credentials.load(tmp_path)
    assert creds.authenticate(creds.admin) == ADMIN
    node_a = creds.node_credential("a")
    node_b = creds.node_credential("b")  # added after the credential map was first built
    assert creds.authenticate(node_a) == "system:node:a"
    assert creds.authenticate(node_b) == "system:node:b"
    tid = creds.first_join_token().partition(".")[0]
    assert creds.authenticate(creds.first_join_token()) == f"system:bootstrap:{tid}"
    assert "not valid" in _unauthorized(creds, node_a + "x")
    assert "not valid" in _unauthorized(creds, "node." + "0" * 32)
    assert "not valid" in _unauthorized(creds, f"{tid}.wrongsecretwrongs")
    assert "no credential" in _unauthorized(creds, "")


def test_a_token_created_elsewhere_works_at_once_and_a_deleted_one_stops_soon(tmp_path: Path) -> None:
    server = Credentials.load(tmp_path)
    server.authenticate(server.admin)  # the server has just looked at the file
    cli = Credentials.load(tmp_path)  # `kube-tui token create`, another process
    new = cli.create_join_token()
    assert server.authenticate(new).startswith("system:bootstrap:")  # unknown -> the file is read again
    cli.delete_join_token(new.partition(".")[0])
    deadline = time.monotonic() + 5 * Credentials.RECHECK_SECONDS + 2
    while True:
        try:
            server.authenticate(new)
        except ApiError as e:
            assert e.code == 401
            break
        assert time.monotonic() < deadline, "a deleted join token kept working"
        time.sleep(0.05)
