"""What the machine allows: worker counts bounded by its CPUs, and worker processes that die with their parent.

A typo like ``--num-proc 10000`` must not start ten thousand processes: every pool or thread count the
package starts goes through :func:`bound_workers`, which clamps it to the CPUs this process may use (with a
warning saying so). Every worker process runs :func:`die_with_parent` first, so a ``kill -9`` of the command
leaves no worker behind (Linux: the kernel's parent-death signal; elsewhere and in addition: a watchdog
thread that exits when the command's process is gone).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys
import threading
import time

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
WATCH_EVERY_S = 0.5


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def bound_workers(requested: int, option: str = "--num-proc") -> int:
    """``requested`` clamped to the machine's CPUs, with a warning when it was more; ``ValueError`` below 1."""
    if requested < 1:
        raise ValueError(f"{option} must be at least 1, got {requested}")
    cpus = available_cpus()
    if requested > cpus:
        logger.warning("%s %d is more than the %d CPU(s) of this machine; using %d (more processes or threads "
                       "would only compete for the same CPUs and memory)", option, requested, cpus, cpus)
        return cpus
    return requested


def die_with_parent(watched_pid: int | None = None) -> None:
    """Make this (worker) process exit when its parent, or ``watched_pid`` (the command), is gone.

    Called first in every worker (a pool ``initializer``). ``watched_pid`` is the command's own process:
    with the ``forkserver`` start method a worker's parent is the fork server, not the command.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    parent = os.getppid()
    if parent == 1 or (watched_pid is not None and not pid_alive(watched_pid)):
        os._exit(1)  # the parent died before the signal was armed
    threading.Thread(target=_watch, args=(parent, watched_pid), name="ecinstruct-die-with-parent",
                     daemon=True).start()


def _watch(parent: int, watched_pid: int | None) -> None:
    while True:
        time.sleep(WATCH_EVERY_S)
        if os.getppid() != parent or (watched_pid is not None and not pid_alive(watched_pid)):
            os._exit(1)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, killed but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True
