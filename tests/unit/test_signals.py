"""Which signals stop a kube-tui process gracefully."""

from __future__ import annotations

import signal

import pytest

from control import aio


def test_a_hang_up_stops_gracefully_unless_it_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    # A closed terminal (or `kube-tui down` ending a tmux session) is a graceful stop ...
    monkeypatch.setattr(signal, "getsignal", lambda s: signal.SIG_DFL)
    assert aio.stop_signals() == (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    # ... but `nohup kube-tui control &` ignores SIGHUP, and must keep running after a hang-up.
    monkeypatch.setattr(signal, "getsignal", lambda s: signal.SIG_IGN if s == signal.SIGHUP else signal.SIG_DFL)
    assert aio.stop_signals() == (signal.SIGINT, signal.SIGTERM)
