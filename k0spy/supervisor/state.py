"""The states of one supervised child and the transitions allowed between them.

Modelled on supervisord's process state machine, with the names `k0spy status components` shows. Every
change goes through `check_transition`, so an impossible sequence (a stopped child becoming ready) is a
bug that fails loudly instead of a status that lies.

    stopped -> starting -> running -> ready
                  |           |        |
                  v           v        v
               backing-off <- (child exited) ; any live state -> stopping -> stopped
                  |
                  v
               failed (the first exec failed: nothing to restart)
"""

from __future__ import annotations

import enum


class ProcessState(enum.Enum):
    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    READY = "ready"
    BACKOFF = "backing-off"
    STOPPING = "stopping"
    FAILED = "failed"

    @property
    def alive(self) -> bool:
        """Whether a child process may exist in this state."""
        return self in (ProcessState.RUNNING, ProcessState.READY, ProcessState.STOPPING)


S = ProcessState

TRANSITIONS: dict[ProcessState, frozenset[ProcessState]] = {
    S.STOPPED: frozenset({S.STARTING}),
    S.STARTING: frozenset({S.RUNNING, S.READY, S.BACKOFF, S.FAILED, S.STOPPING, S.STOPPED}),
    S.RUNNING: frozenset({S.READY, S.BACKOFF, S.STOPPING}),
    S.READY: frozenset({S.RUNNING, S.BACKOFF, S.STOPPING}),
    S.BACKOFF: frozenset({S.STARTING, S.STOPPING, S.STOPPED}),
    S.STOPPING: frozenset({S.STOPPED}),
    S.FAILED: frozenset({S.STARTING, S.STOPPING, S.STOPPED}),
}


class InvalidTransition(RuntimeError):
    """A state change the table does not allow: a supervisor bug, never an operator error."""


def check_transition(old: ProcessState, new: ProcessState) -> None:
    """Raise InvalidTransition unless `old -> new` is in the table (staying put is always allowed)."""
    if old is not new and new not in TRANSITIONS[old]:
        raise InvalidTransition(f"{old.value} -> {new.value}")
