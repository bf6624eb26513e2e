"""Pure supervisor policy: states, backoff, exit words, environment (k0s's TestGetEnv vector)."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from k0spy.supervisor.backoff import DEFAULT_BACKOFF, BackoffPolicy
from k0spy.supervisor.env import build_env
from k0spy.supervisor.exits import describe_exit, exit_fields
from k0spy.supervisor.state import InvalidTransition, ProcessState, check_transition

S = ProcessState


@pytest.mark.parametrize(("old", "new"), [
    (S.STOPPED, S.STARTING), (S.STARTING, S.RUNNING), (S.RUNNING, S.READY), (S.READY, S.BACKOFF),
    (S.BACKOFF, S.STARTING), (S.READY, S.STOPPING), (S.STOPPING, S.STOPPED), (S.STARTING, S.FAILED),
    (S.READY, S.RUNNING), (S.BACKOFF, S.STOPPED),
])
def test_allowed_transitions(old: ProcessState, new: ProcessState) -> None:
    check_transition(old, new)


@pytest.mark.parametrize(("old", "new"), [
    (S.STOPPED, S.READY), (S.STOPPED, S.RUNNING), (S.STOPPING, S.READY), (S.BACKOFF, S.READY),
    (S.STOPPED, S.BACKOFF),
])
def test_forbidden_transitions(old: ProcessState, new: ProcessState) -> None:
    with pytest.raises(InvalidTransition, match=f"{old.value} -> {new.value}"):
        check_transition(old, new)


def test_state_names_match_status_vocabulary() -> None:
    assert {s.value for s in S} == {"stopped", "starting", "running", "ready", "backing-off", "stopping",
                                     "failed"}


def test_backoff_first_restart_is_immediate_then_doubles_to_cap() -> None:
    p = BackoffPolicy(jitter=0)
    delays = [p.next_delay(i) for i in range(10)]
    assert delays[:5] == [0.0, 0.1, 0.2, 0.4, 0.8]
    assert delays[-1] == 5.0
    assert all(a <= b for a, b in itertools.pairwise(delays))
    assert p.next_delay(10_000) == 5.0


def test_backoff_jitter_stays_within_band_and_cap() -> None:
    rng = random.Random(7)
    for attempt in range(1, 30):
        base = DEFAULT_BACKOFF.base_delay(attempt)
        for _ in range(50):
            d = DEFAULT_BACKOFF.next_delay(attempt, rng)
            assert base * 0.9 - 1e-9 <= d <= min(5.0, base * 1.1) + 1e-9


def test_backoff_jitter_spreads_restarts() -> None:
    rng = random.Random(1)
    assert len({DEFAULT_BACKOFF.next_delay(3, rng) for _ in range(20)}) > 10


def test_backoff_resets_after_stable_period() -> None:
    p = BackoffPolicy(reset_after=10)
    assert p.next_attempt(6, uptime=9.9) == 6
    assert p.next_attempt(6, uptime=10.0) == 0


@pytest.mark.parametrize(("rc", "words", "fields"), [
    (0, "exited with code 0", {"exit_code": 0}),
    (3, "exited with code 3", {"exit_code": 3}),
    (-9, "killed by SIGKILL", {"signal": "SIGKILL"}),
    (-15, "killed by SIGTERM", {"signal": "SIGTERM"}),
    (137, "exited with code 137", {"exit_code": 137}),
])
def test_exit_words(rc: int, words: str, fields: dict[str, object]) -> None:
    assert describe_exit(rc) == words
    assert exit_fields(rc) == fields


def test_exit_unknown_signal_and_running() -> None:
    assert describe_exit(-200) == "killed by signal 200"
    assert describe_exit(None) == "still running"


GO_ENV = {
    "k3": "v3", "PATH": "/bin", "k2": "v2", "FOO_k3": "foo_v3", "k4": "v4", "FOO_k2": "foo_v2",
    "FOO_HTTPS_PROXY": "a.b.c:1080", "HTTPS_PROXY": "1.2.3.4:8888", "k1": "v1", "FOO_PATH": "/usr/local/bin",
}


def _pairs(env: dict[str, str]) -> set[str]:
    return {f"{k}={v}" for k, v in env.items()}


def test_env_matches_k0s_vector_without_keep_prefix() -> None:
    env = build_env(GO_ENV, Path("/var/lib/k0s"), "foo")
    assert _pairs(env) == {
        "HTTPS_PROXY=a.b.c:1080", "PATH=/var/lib/k0s/bin:/usr/local/bin", "_K0S_MANAGED=yes",
        "k1=v1", "k2=foo_v2", "k3=foo_v3", "k4=v4",
    }
    assert next(iter(env)) == "_K0S_MANAGED"


def test_env_matches_k0s_vector_with_keep_prefix() -> None:
    env = build_env(GO_ENV, Path("/var/lib/k0s"), "foo", keep_prefix=True)
    assert _pairs(env) == {
        "FOO_PATH=/usr/local/bin", "FOO_k2=foo_v2", "FOO_k3=foo_v3", "HTTPS_PROXY=a.b.c:1080",
        "PATH=/var/lib/k0s/bin:/bin", "_K0S_MANAGED=yes", "k1=v1", "k2=v2", "k3=v3", "k4=v4",
    }
    assert next(iter(env)) == "_K0S_MANAGED"


def test_env_never_passes_secrets() -> None:
    env = build_env({"K0S_TOKEN": "s3cret", "ETCD_K0S_TOKEN": "x", "A": "1"}, Path("/d"), "etcd")
    assert "s3cret" not in str(env) and "K0S_TOKEN" not in env and "ETCD_K0S_TOKEN" not in env
    env = build_env({"K0S_TOKEN": "s3cret", "ETCD_K0S_TOKEN": "x"}, Path("/d"), "etcd", keep_prefix=True)
    assert not any("TOKEN" in k for k in env)


def test_env_without_path_gets_bin_dir_only() -> None:
    assert build_env({}, Path("/d"), "x")["PATH"] == "/d/bin"


def test_env_prefix_uses_upper_name_with_dash() -> None:
    env = build_env({"KUBE-APISERVER_HTTP_PROXY": "p", "HTTP_PROXY": "q"}, Path("/d"), "kube-apiserver")
    assert env["HTTP_PROXY"] == "p" and "KUBE-APISERVER_HTTP_PROXY" not in env
