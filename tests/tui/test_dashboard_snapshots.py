"""Snapshots of the main screens, fed by the deterministic fake cluster (fixed objects, fixed clock).

Regenerate after an intended change with `pytest tests/tui/test_dashboard_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from dashboard_fake import fake_model

from tui.app import KubeTuiApp

SIZE = (150, 40)


def app() -> KubeTuiApp:
    return KubeTuiApp(fake_model, server_label="tcp://127.0.0.1:7070")


def test_overview(snap_compare) -> None:  # noqa: ANN001 - pytest-textual-snapshot's fixture
    assert snap_compare(app(), terminal_size=SIZE)


def test_pods(snap_compare) -> None:  # noqa: ANN001
    assert snap_compare(app(), press=["1", "down"], terminal_size=SIZE)


def test_nodes(snap_compare) -> None:  # noqa: ANN001
    assert snap_compare(app(), press=["2"], terminal_size=SIZE)


def test_etcd_with_a_key(snap_compare) -> None:  # noqa: ANN001
    assert snap_compare(app(), press=["6", "down", "enter", "down", "enter", "down", "_"], terminal_size=SIZE)


def test_scheduler(snap_compare) -> None:  # noqa: ANN001
    assert snap_compare(app(), press=["7", "down"], terminal_size=SIZE)


def test_flow_of_a_pod(snap_compare) -> None:  # noqa: ANN001
    assert snap_compare(app(), press=["1", "down", "f"], terminal_size=SIZE)
