"""The abuse scenario's attacker, in a process of its own so that it cannot starve the client it is measured
against: fuzzed frames or unauthenticated requests at a fixed rate; prints a JSON line of what it sent and got."""

from __future__ import annotations

import argparse
import json
import random
import time

import msgpack
import zmq

from control import curve, wire
from control.soak.fuzz import fuzz_frames, unauthenticated


def main(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, 1_000_000)
    sock.setsockopt(zmq.RCVHWM, 1_000_000)
    if args.server_key:
        pub, sec = curve.client_keypair(None)
        sock.setsockopt(zmq.CURVE_SERVERKEY, args.server_key.encode())
        sock.setsockopt(zmq.CURVE_PUBLICKEY, pub)
        sock.setsockopt(zmq.CURVE_SECRETKEY, sec)
    sock.connect(args.server)
    counts: dict[str, int] = {}

    def drain(wait_ms: int = 0) -> None:
        """Wait up to wait_ms for answers, then take every answer already there."""
        while sock.poll(wait_ms):
            frame = sock.recv()
            try:
                code = str(msgpack.unpackb(frame, raw=False).get("code"))
            except (ValueError, AttributeError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
                code = "?"
            counts[code] = counts.get(code, 0) + 1
            wait_ms = 0

    make = (lambda i: fuzz_frames(rng, i)) if args.mode == "fuzz" else (lambda i: unauthenticated(rng, i))
    t0 = time.monotonic()
    batch = max(1, int(args.rate / 200))
    for sent in range(0, args.count, batch):
        for i in range(sent, min(sent + batch, args.count)):
            sock.send_multipart(make(i))
        drain()
        due = t0 + min(sent + batch, args.count) / args.rate
        while (left := due - time.monotonic()) > 0:  # pace: answers arriving must not cut the wait short
            drain(max(1, int(left * 1000)))
    elapsed = time.monotonic() - t0
    drain(1000)
    print(json.dumps({"sent": args.count, "seconds": elapsed, "answers": counts, "wire_version": wire.VERSION}), flush=True)
    sock.close(linger=0)
    ctx.term()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--server-key", default=None)
    p.add_argument("--mode", choices=("fuzz", "unauth"), required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--rate", type=float, required=True)
    p.add_argument("--seed", type=int, default=5)
    main(p.parse_args())
