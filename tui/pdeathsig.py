"""A kube-tui process started by a tied launcher ends when the process that started it dies, even by kill -9.

The launcher puts its pid in PARENT_ENV; the child's entry point calls die_with_parent() first thing. This
module imports nothing heavy: every `kube-tui` command runs it at start.
"""

from __future__ import annotations

import ctypes
import os
import signal

PARENT_ENV = "KUBE_TUI_DIE_WITH"  # set for a tied child: the pid whose death must end it


def die_with_parent() -> None:
    """At a kube-tui process's start: if a tied launcher started it, ask the kernel for SIGTERM when that
    parent dies (Linux's PR_SET_PDEATHSIG), even by kill -9. Done here rather than in a preexec_fn,
    which runs Python between fork and exec while other threads may hold locks."""
    parent = os.environ.pop(PARENT_ENV, "")
    if not parent.isdigit():
        return
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux: the processes simply outlive a killed parent
        return
    pr_set_pdeathsig = 1
    prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != int(parent):  # it died before the line above
        os.kill(os.getpid(), signal.SIGTERM)
