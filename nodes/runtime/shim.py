"""Per-container supervisor, like containerd-shim: runs one container's process tree and makes
sure none of it outlives the node.

Started by the process runtime as `python -I -S shim.py LIFELINE REPORT LOG LOG_MAX CWD FLAGS MOUNTS USER -- ARGV...`
(stdlib only: no site-packages, no PYTHONPATH, so it starts fast and is unaffected by the pod env).

- LIFELINE: fd of a pipe whose only writer is the node. b"T" = SIGTERM the container's main process,
  b"K" = SIGKILL the whole tree, EOF = the node is gone (even by kill -9): SIGKILL the whole tree.
- REPORT: fd to write one line: "OK <pid>" once the command runs, or "ERR <message>". "OK <pid> NOMOUNT
  <why>": it runs, but without its mounts (nor a layer), because this host gives no mount namespace; "OK <pid>
  NOLAYER <why>": it runs with its mounts, but writes (some of) the node's own directories, not a layer.
- MOUNTS: "-" (the host's view), or JSON: {"root": DIR, "mounts": [{"source", "target", "readOnly"}],
  "layer": BYTES or null, "readOnly": BOOL} to run the command in a mount namespace of its own, on a writable
  layer of BYTES (null: none) over the node's directories, read-only with "readOnly", with the pod's volumes
  mounted (mountns.py builds it at DIR before the command starts); {"join": PID, "user": BOOL} to run it in the
  namespaces of the container whose main process is PID (kubectl exec, exec probes).
- USER: "-" (the shim's own user), or UID:GID:GROUP,GROUP,... : the command (only: the shim keeps its own, and
  the log it writes stays the node's) runs as that user, group and supplementary groups (securityContext's
  runAsUser, runAsGroup, supplementalGroups, fsGroup: nodes/securitycontext.py).
- FLAGS: "u" drop LC_CTYPE (see main); "n" the command gets PR_SET_NO_NEW_PRIVS (allowPrivilegeEscalation:
  false: a setuid program gains nothing); "i" the command reads the shim's stdin (kubectl exec -i)
  instead of /dev/null; "t" that stdin is a pty's slave, made the command's controlling terminal
  (kubectl exec -t), so ^C, job control and window sizes work as in a terminal; "e" the command's
  stderr is the shim's own (kept apart from its stdout, as kubectl exec keeps them).
- LOG: file receiving the container's stdout+stderr as CRI log records (LogFile), capped at LOG_MAX
  bytes (rotated once), or "-" to let the container share the shim's stdout (exec probes read it
  through a pipe; an attachable container's stdio is a pty or pipes the node holds, and the node
  writes its log: process.py).
- The shim is a child subreaper, so processes that daemonize away from the container's process
  group still end up as its children and are killed with the rest. The main process gets
  PR_SET_PDEATHSIG=SIGKILL in case the shim itself is SIGKILLed.
- When the main process exits, everything left in the tree is SIGKILLed (as when PID 1 of a
  container's PID namespace exits) and the shim exits with the main process's code (128+signal).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import select
import signal
import subprocess
import sys
import termios
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script's directory out
import mountns  # noqa: E402 - stdlib only, beside this file

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
START_ERROR_EXIT = 128

_libc = ctypes.CDLL(None, use_errno=True)


def _child_setup(tty: bool, no_new_privs: bool) -> Callable[[], None]:
    """What the forked child does before exec (after Popen's setsid and its change of user, which would clear
    the parent-death signal); the shim is single-threaded, so this is safe."""
    def setup() -> None:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if no_new_privs and _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if tty:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # fd 0, the pty's slave, becomes the controlling terminal
    return setup


def parse_user(arg: str) -> tuple[int, int, list[int]] | None:
    """USER (see above) as (uid, gid, groups); None for "-"."""
    if arg == "-":
        return None
    uid, gid, groups = arg.split(":")
    return int(uid), int(gid), [int(g) for g in groups.split(",") if g]


def _exec_error(argv0: str, err: OSError) -> str:
    """runc's wording for a failed exec, which containerd passes through to the kubelet."""
    if err.errno == errno.ENOENT:
        if "/" not in argv0:
            return f'exec: "{argv0}": executable file not found in $PATH'
        return f'exec: "{argv0}": stat {argv0}: no such file or directory'
    if err.errno == errno.EACCES:
        return f'exec: "{argv0}": permission denied'
    return f'exec: "{argv0}": {os.strerror(err.errno or 0).lower()}'


def _descendants() -> list[int]:
    """Live (non-zombie) descendants of this process, from one scan of /proc."""
    children: dict[int, list[int]] = {}
    states: dict[int, bytes] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        # comm may contain spaces and parentheses: the fields start after the last ")".
        rest = data[data.rindex(b")") + 2:].split()
        pid = int(entry)
        states[pid] = rest[0]
        children.setdefault(int(rest[1]), []).append(pid)
    out: list[int] = []
    stack = [os.getpid()]
    while stack:
        for child in children.get(stack.pop(), []):
            stack.append(child)
            if states.get(child) != b"Z":
                out.append(child)
    return out


# containerd's longest log line: a longer one is cut into partial records of at most this much.
MAX_RECORD_LINE = 16 * 1024


def stamp(ns: int) -> bytes:
    """A time (ns since the epoch) as CRI log records carry it: RFC 3339, UTC, always 9 fraction digits
    (Go's RFC3339NanoFixed), so that records compare and sort as plain strings."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)).encode() + b".%09dZ" % fraction


def records(data: bytes, when: bytes, stream: bytes = b"stdout", longest: int = MAX_RECORD_LINE) -> list[bytes]:
    """`data`, read at `when` (a stamp), as CRI log records (`TIME STREAM TAG CONTENT`, one per line of the
    file): each whole line a full record (F); a line longer than `longest`, and what follows the last newline
    (output that ends mid-line, so far), partial records (P) that the next record continues."""
    full, partial = when + b" " + stream + b" F ", when + b" " + stream + b" P "
    out: list[bytes] = []
    start, end = 0, len(data)
    longest = max(1, longest)
    while start < end:
        nl = data.find(b"\n", start, start + longest)
        if nl >= 0:
            out.append(full + data[start:nl + 1])
            start = nl + 1
        else:
            stop = min(end, start + longest)
            out.append(partial + data[start:stop] + b"\n")
            start = stop
    return out


class LogFile:
    """A container's log file, as the CRI runtime writes it for the kubelet: every read of the container's
    output becomes records stamped with the time it was read (`records`). Capped at `max_bytes` and rotated
    once (to PATH.1), like the kubelet's container log manager, between records: a file holds whole records.
    The shim writes it for a container whose output it carries; the node, for an attachable container (stdin
    or tty) whose output it carries itself (nodes/runtime/process.py). stdout and stderr come through one
    pipe, so their order is kept as a terminal shows it; every record says `stdout`."""

    def __init__(self, path: str, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max(1, max_bytes)
        self.fd: int | None = None
        self.size = 0

    def open(self) -> None:
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.size = os.fstat(self.fd).st_size

    def write(self, data: bytes, when: bytes | None = None) -> None:
        """Log one read of the container's output (`when`: a stamp; now if not given)."""
        if not data:
            return
        stamped = stamp(time.time_ns()) if when is None else when
        # a record must fit in an empty file: its line is cut to what leaves room for its head
        longest = min(MAX_RECORD_LINE, self.max_bytes - len(stamped) - 11)
        batch = bytearray()
        for record in records(data, stamped, longest=longest):
            if self.size + len(batch) + len(record) > self.max_bytes and self.size + len(batch) > 0:
                self._write_all(batch)
                batch.clear()
                self._rotate()
            batch += record
        self._write_all(batch)

    def _write_all(self, data: bytes | bytearray) -> None:
        view = memoryview(data)
        while self.fd is not None and view:
            written = os.write(self.fd, view)
            self.size += written
            view = view[written:]

    def _rotate(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        try:
            os.replace(self.path, self.path + ".1")
        except OSError:
            pass
        self.open()

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class Shim:
    def __init__(self, lifeline: int, log_path: str, log_max: int) -> None:
        self.lifeline = lifeline
        self.log = LogFile(log_path, log_max)
        self.main_pid = 0
        self.main_status: int | None = None
        self.stop_signal = 0
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda n, f: None)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, frame: object) -> None:
        self.stop_signal = signum

    # -- children ----------------------------------------------------------------------------
    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.main_pid:
                self.main_status = status

    def kill_all(self) -> None:
        """SIGKILL every descendant until none is left (SIGKILLed processes cannot fork again)."""
        for _ in range(1000):
            pids = _descendants()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.reap()
            # Wait for SIGCHLD (or a short while) instead of spinning while the kernel tears them down.
            select.select([self.wake_r], [], [], 0.01)
            self._drain_wake()
        self.reap()

    def _drain_wake(self) -> None:
        try:
            while os.read(self.wake_r, 512):
                pass
        except BlockingIOError:
            pass

    # -- main loop ---------------------------------------------------------------------------
    def run(self, logr: int | None) -> int:
        while True:
            fds = [self.wake_r]
            if self.lifeline >= 0:
                fds.append(self.lifeline)
            if logr is not None:
                fds.append(logr)
            if self.main_status is not None:
                self.kill_all()
                if logr is not None:
                    self._drain_log(logr)
                return os.waitstatus_to_exitcode(self.main_status) if os.WIFEXITED(self.main_status) \
                    else 128 + os.WTERMSIG(self.main_status)
            ready, _, _ = select.select(fds, [], [])
            if self.wake_r in ready:
                self._drain_wake()
                self.reap()
            if self.stop_signal:
                self.kill_all()
                return 128 + self.stop_signal
            if logr is not None and logr in ready:
                data = os.read(logr, 65536)
                if data:
                    self.log.write(data)
                else:
                    os.close(logr)
                    logr = None
            if self.lifeline >= 0 and self.lifeline in ready:
                cmd = os.read(self.lifeline, 64)
                if not cmd:
                    # The node is gone: nothing may outlive it.
                    self.kill_all()
                    return 128 + signal.SIGKILL
                if b"K" in cmd:
                    self.kill_all()
                elif b"T" in cmd and self.main_status is None:
                    try:
                        os.kill(self.main_pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass

    def _drain_log(self, logr: int) -> None:
        # Everything that could hold the write end is dead now, so EOF comes promptly.
        while True:
            ready, _, _ = select.select([logr], [], [], 2.0)
            if not ready:
                break
            data = os.read(logr, 65536)
            if not data:
                break
            self.log.write(data)
        os.close(logr)


def enter_mounts(spec: str) -> tuple[str | None, str | None]:
    """The container's view of the filesystem (MOUNTS, see above): why it has no mount namespace when this host
    gives none, and why it has no writable layer (or one only in part); (None, None) when it has both, or needs
    neither. OSError when building it failed."""
    if spec == "-":
        return None, None
    config = json.loads(spec)
    try:
        if "join" in config:
            mountns.join(int(config["join"]), bool(config.get("user")))
            return None, None
        return None, mountns.enter(config["root"], config.get("mounts") or [], config.get("layer"),
                                   bool(config.get("readOnly")))
    except mountns.NamespaceUnavailable as e:
        return str(e), None


def main(argv: list[str]) -> int:
    lifeline, report, log_path, log_max, cwd, flags, mounts = (int(argv[1]), int(argv[2]), argv[3], int(argv[4]),
                                                               argv[5], argv[6], argv[7])
    if len(argv) < 11 or argv[9] != "--":
        print("usage: shim.py LIFELINE REPORT LOG LOG_MAX CWD FLAGS MOUNTS USER -- ARGV...", file=sys.stderr)
        return 2
    user = parse_user(argv[8])
    command = argv[10:]
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    if "u" in flags:
        # Python's locale coercion (PEP 538) may have added LC_CTYPE; the pod did not ask for it.
        os.environ.pop("LC_CTYPE", None)
    shim = Shim(lifeline, log_path, log_max)

    def fail(message: str) -> int:
        os.write(report, f"ERR {message}\n".encode())
        os.close(report)
        return START_ERROR_EXIT

    logr: int | None = None
    logw: int | None = None
    if log_path != "-":
        try:
            shim.log.open()  # before the mounts: the log is the node's file, not the container's
        except OSError as e:
            return fail(f"failed to open log file {log_path}: {e.strerror}")
    try:
        no_mounts, no_layer = enter_mounts(mounts)
    except OSError as e:
        detail = e.strerror if e.filename is None else f"{e.filename}: {(e.strerror or '').lower()}"
        return fail(f"error during container init: {detail}")
    if cwd != "-" and not os.path.isdir(cwd):
        return fail(f'error during container init: chdir to cwd ("{cwd}") set in config.json failed: '
                    "no such file or directory")
    if log_path != "-":
        logr, logw = os.pipe()
    try:
        proc = subprocess.Popen(command, stdin=None if "i" in flags else subprocess.DEVNULL, stdout=logw,
                                stderr=None if "e" in flags else subprocess.STDOUT, cwd=None if cwd == "-" else cwd,
                                start_new_session=True, preexec_fn=_child_setup("t" in flags, "n" in flags),
                                close_fds=True, **({} if user is None else
                                                   {"user": user[0], "group": user[1], "extra_groups": user[2]}))
    except OSError as e:
        return fail("error during container init: " + _exec_error(command[0], e))
    finally:
        if logw is not None:
            os.close(logw)
    shim.main_pid = proc.pid
    said = f" NOMOUNT {no_mounts}" if no_mounts is not None else f" NOLAYER {no_layer}" if no_layer is not None else ""
    os.write(report, f"OK {proc.pid}{said}\n".encode())
    os.close(report)
    code = shim.run(logr)
    # Popen would try to reap its pid at exit; the shim already did.
    proc.returncode = code
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
