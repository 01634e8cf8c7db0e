"""The built-in pause image: sleeps until signalled, then exits 0 like registry.k8s.io/pause."""

from __future__ import annotations

import signal
import sys


def main() -> int:
    def leave(signum: int, frame: object) -> None:
        sys.exit(0)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, leave)
    while True:
        signal.pause()


if __name__ == "__main__":
    sys.exit(main())
