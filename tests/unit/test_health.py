"""/livez, /readyz and /healthz (control/apiserver/health.py) in kube-apiserver's words, over a real store."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from control.apiserver import health
from control.apiserver.handlers import POST_START_HOOKS
from control.store import Store, StoreError
from tests.unit.test_store import FailingWrite


def api_of(store: Store, **hooks: bool) -> SimpleNamespace:
    return SimpleNamespace(store=store, post_start_hooks={**dict.fromkeys(POST_START_HOOKS, True), **hooks})


async def test_every_check_passes_then_one_step_at_a_time(tmp_path: Path) -> None:
    async with Store(tmp_path / "d") as store:
        api = api_of(store)
        assert health.answer(["livez"], {}, api, lambda: False) == (200, "ok")
        code, text = health.answer(["readyz"], {"verbose": [""]}, api, lambda: False)
        assert code == 200 and text == (
            "[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]etcd-readiness ok\n[+]poststarthook/bootstrap-controller ok\n"
            "[+]poststarthook/rbac/bootstrap-roles ok\n[+]poststarthook/scheduling/bootstrap-system-priority-classes ok\n"
            "[+]shutdown ok\nreadyz check passed\n")
        code, text = health.answer(["livez"], {"verbose": [""], "exclude": ["etcd", "nope,log"]}, api, lambda: False)
        assert code == 200 and "[+]etcd excluded: ok\n" in text and "[+]log excluded: ok\n" in text
        assert 'warn: some health checks cannot be excluded: no matches for "nope"\n' in text
        assert "shutdown" not in text and text.endswith("livez check passed\n")
        assert health.answer(["healthz", "poststarthook", "bootstrap-controller"], {}, api, lambda: False) == (200, "ok")
        assert health.answer(["livez", "shutdown"], {}, api, lambda: False) == (404, "404 page not found\n")


async def test_a_failing_check_is_500_with_every_line_even_without_verbose(tmp_path: Path) -> None:
    async with Store(tmp_path / "d") as store:
        api = api_of(store, **{"bootstrap-controller": False})
        code, text = health.answer(["livez"], {}, api, lambda: False)
        assert code == 500 and "[-]poststarthook/bootstrap-controller failed: reason withheld\n" in text
        assert "[+]etcd ok\n" in text and text.endswith("livez check failed\n")
        assert health.answer(["livez", "poststarthook", "bootstrap-controller"], {}, api, lambda: False) == (
            500, "internal server error: not finished\n")
        # a server that has begun to stop is no longer ready, but still live
        api = api_of(store)
        code, text = health.answer(["readyz"], {}, api, lambda: True)
        assert code == 500 and "[-]shutdown failed: reason withheld\n" in text
        assert health.answer(["livez"], {}, api, lambda: True) == (200, "ok")


async def test_etcd_fails_while_the_log_cannot_be_written_and_recovers(tmp_path: Path) -> None:
    hook = FailingWrite()
    async with Store(tmp_path / "d", write_hook=hook) as store:
        api = api_of(store)
        await store.put("/a", b"1")
        hook.err = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        with pytest.raises(StoreError, match="ENOSPC"):
            await store.put("/a", b"2")
        code, text = health.answer(["readyz"], {}, api, lambda: False)
        assert code == 500 and "[-]etcd failed: reason withheld\n[-]etcd-readiness failed" in text
        code, text = health.answer(["livez", "etcd"], {}, api, lambda: False)
        assert code == 500 and text.startswith("internal server error: the last write to the write-ahead log failed")
        assert "No space left on device" in text
        hook.err = None
        await store.put("/a", b"3")
        assert health.answer(["readyz"], {}, api, lambda: False) == (200, "ok")
    code, text = health.answer(["livez", "etcd"], {}, api, lambda: False)
    assert code == 500 and text == "internal server error: the store is closed\n"
