"""`k0spy token create|list|invalidate` as an operator runs them, against a "running controller": the
runtime lock and config held by this test, a real status socket, and the kube-apiserver double."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

from k0spy.joinapi.client import JoinClient, JoinError, Retry
from k0spy.joinapi.token import load_join_token
from k0spy.runtime import runtime_lock
from k0spy.status.server import StatusInfo, StatusServer
from k0spy.status.timeline import Timeline
from tests.support.doubles import (
    doubles_bin,  # noqa: F401  (fixture)
    http_get,
)
from tests.support.join import ROOT, JoinBed, join_bed, node_config  # noqa: F401  (fixture)

FAST = Retry(attempts=2, first_delay=0.05, max_delay=0.1, per_try=5, jitter=False)


async def k0spy(bed: JoinBed, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "k0spy",
        *args,
        f"--data-dir={bed.paths.data_dir}",
        f"--run-dir={bed.paths.run_dir}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return int(proc.returncode or 0), out.decode(), err.decode()


@contextlib.asynccontextmanager
async def running_controller(
    bed: JoinBed, *, single: bool = False, storage: dict[str, Any] | None = None
) -> AsyncIterator[None]:
    node = node_config(bed.api_port, bed.etcd.url, storage)
    with runtime_lock(bed.paths, node):
        info = StatusInfo(
            version="test",
            role="controller",
            k0s_vars=bed.paths.as_k0s_vars(),
            single_node=single,
            cluster_config=node,
        )
        status = StatusServer(bed.paths.status_socket, info, lambda: [], Timeline())
        await status.start()
        try:
            yield
        finally:
            await status.stop()


async def test_create_list_use_and_invalidate(join_bed: JoinBed) -> None:  # noqa: F811
    bed = join_bed
    async with running_controller(bed):
        code, ctrl_text, err = await k0spy(bed, "token", "create", "--role", "controller", "--expiry", "1h")
        assert code == 0, err
        code, worker_text, err = await k0spy(bed, "token", "create", "--role=worker")
        assert code == 0, err
        ctrl = load_join_token(ctrl_text.strip(), "controller")
        worker = load_join_token(worker_text.strip(), "worker")
        assert ctrl.server == bed.api_url and worker.server == "https://127.0.0.1:6443"
        assert ctrl.ca_pem == (bed.paths.cert_dir / "ca.crt").read_bytes()

        code, out, err = await k0spy(bed, "token", "list", "-o", "json")
        assert code == 0, err
        rows = {row["id"]: row for row in json.loads(out)}
        assert rows[ctrl.token_id]["role"] == "controller" and rows[ctrl.token_id]["expires"]
        assert rows[worker.token_id]["role"] == "worker" and rows[worker.token_id]["expires"] == ""
        assert ctrl.token.split(".")[1] not in out
        code, out, _ = await k0spy(bed, "token", "list", "--role", "worker")
        assert worker.token_id in out and ctrl.token_id not in out

        # the controller token opens the join API; the worker token authenticates to the apiserver double
        client = JoinClient(ctrl, retry_ca=FAST)
        assert (await client.get_ca()).cert == ctrl.ca_pem
        status, _ = await asyncio.to_thread(
            http_get,
            f"{bed.kube_url}/apis/certificates.k8s.io/v1/certificatesigningrequests",
            bed.ca_context(),
            {"Authorization": f"Bearer {worker.token}"},
        )
        assert status == 200

        code, out, err = await k0spy(bed, "token", "invalidate", ctrl.token_id, "nosuch")
        assert code == 0, err
        assert out.splitlines() == [
            f"token {ctrl.token_id} deleted successfully",
            "token nosuch deleted successfully",
        ]
        assert not bed.secret_exists(ctrl.token_id)
        with pytest.raises(JoinError, match="401"):
            await client.get_ca()


async def test_refusals(join_bed: JoinBed) -> None:  # noqa: F811
    bed = join_bed
    code, _out, err = await k0spy(bed, "token", "create")
    assert code == 1 and "not running" in err
    async with running_controller(bed, single=True):
        code, _out, err = await k0spy(bed, "token", "create", "--role", "worker")
        assert code == 1 and "cannot join into a single node cluster" in err
    kine = {"type": "kine", "kine": {"dataSource": "sqlite:///tmp/x.db"}}
    async with running_controller(bed, storage=kine):
        code, _out, err = await k0spy(bed, "token", "create", "--role", "controller")
        assert code == 1 and "cannot join controller into current storage" in err
        code, _out, err = await k0spy(bed, "token", "create", "--role", "controller", "--wait")
        assert code == 1 and "cannot join controller" in err  # a refusal is not waited out
        code, _out, err = await k0spy(bed, "token", "create", "--expiry", "soon")
        assert code == 2 and "--expiry" in err
