"""Which process claimed an outbox row, and whether that process still runs.

A dispatcher writes its process's identity into each row it claims (`claimed_by`). A process
starting up (and every dispatcher now and then) asks, for each owner of in-flight rows, whether
that process is gone; the rows of a gone process go back to pending at once, instead of after
their 60-second lease. Only a process on this machine can be judged, by its process id and its
start time (so a reused process id is not mistaken for the old process): the identity names
the kernel's boot (`/proc/sys/kernel/random/boot_id`) and the process-id namespace (containers
have their own). A process on another machine, or where `/proc` is missing, is never judged
gone: its rows wait for the Redis heartbeats (`bot.scaling.cluster`) or the lease.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessIdentity:
    machine: str  # this boot of this machine's kernel, and the process-id namespace
    pid: int
    started: str  # the process's start time in clock ticks since boot ("" unknown)

    def __str__(self) -> str:
        return f"{self.machine}/{self.pid}/{self.started}"

    @classmethod
    def parse(cls, text: str) -> ProcessIdentity | None:
        machine, _, rest = text.rpartition("/")
        machine, _, pid = machine.rpartition("/")
        if not machine or not pid.isdigit():
            return None
        return cls(machine, int(pid), rest)


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def running_since(pid: int, proc: Path = PROC) -> str | None:
    """When process `pid` started (clock ticks since boot), or None if it does not run (no
    such process, or one that ended and waits to be reaped: a zombie)."""
    stat = _read(proc / str(pid) / "stat")
    if stat is None:
        return None
    # "pid (command name) state ppid ...": the name may hold spaces and parentheses.
    fields = stat.rpartition(")")[2].split()
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return fields[19]  # field 22 of proc_pid_stat(5)


def _machine(proc: Path = PROC) -> str | None:
    boot = _read(proc / "sys" / "kernel" / "random" / "boot_id")
    try:
        namespace = os.stat(proc / "self" / "ns" / "pid").st_ino
    except OSError:
        return None
    return f"{boot}.{namespace}" if boot else None


class Liveness:
    """This process's identity, and whether another identity's process is gone."""

    def __init__(self, proc: Path = PROC) -> None:
        self.proc = proc
        pid = os.getpid()
        machine = _machine(proc)
        started = running_since(pid, proc) if machine else None
        if machine is None or started is None:  # no /proc: an identity no one can judge
            machine, started = f"unknown-{secrets.token_hex(8)}", ""
        self.me = ProcessIdentity(machine, pid, started)

    @property
    def identity(self) -> str:
        return str(self.me)

    def gone(self, owner: str) -> bool:
        """True only when `owner` was a process on this machine that no longer runs."""
        other = ProcessIdentity.parse(owner)
        if other is None or other == self.me or other.machine != self.me.machine:
            return False
        return running_since(other.pid, self.proc) != other.started
