"""A second etcd member joins through the join API: CA, learner membership, its own etcd certificates
from the returned etcd CA, start with `--initial-cluster-state=existing`, promotion to a voting member."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from k0spy.joinapi.client import JoinClient, Retry, write_ca_bundle, write_etcd_ca
from k0spy.joinapi.etcdmembers import etcd_ssl, list_members, promote_one_learner
from k0spy.joinapi.settings import EtcdAccess
from k0spy.joinapi.token import make_join_token
from k0spy.paths import Paths
from k0spy.pki.ensure import ensure_etcd_pki
from k0spy.pki.settings import PKISettings
from k0spy.roles.join import needs_join
from tests.support.doubles import (
    doubles_bin,  # noqa: F401  (fixture)
    stop_process,
)
from tests.support.join import (
    CONTROLLER_USAGE,
    JoinBed,
    join_bed,  # noqa: F401  (fixture)
    remove_member,
    secret_doc,
    start_joined_etcd,
)
from tests.support.net import free_port

TOKEN = "etcdjn.0123456789abcdef"
FAST = Retry(attempts=5, first_delay=0.1, max_delay=0.5, per_try=10, jitter=False)


def access_for(bed: JoinBed) -> EtcdAccess:
    p = bed.paths
    return EtcdAccess(bed.etcd.url, p.etcd_cert_dir / "ca.crt", p.cert_dir / "apiserver-etcd-client.crt",
                      p.cert_dir / "apiserver-etcd-client.key", p.etcd_cert_dir)


async def test_second_member_is_a_learner_then_promoted(join_bed: JoinBed, tmp_path: Path) -> None:  # noqa: F811
    bed = join_bed
    bed.put_secret(secret_doc(TOKEN, usages=CONTROLLER_USAGE))
    joiner = Paths.build(tmp_path / "data", run_dir=tmp_path / "run", etc_dir=tmp_path / "etc")
    assert needs_join(joiner, "etcd", external_etcd=False)
    ca_pem = (bed.paths.cert_dir / "ca.crt").read_bytes()
    client = JoinClient.from_token_text(make_join_token(bed.api_url, ca_pem, "controller", TOKEN),
                                        retry_ca=FAST, retry_etcd=FAST)
    write_ca_bundle(joiner, await client.get_ca())
    peer, client_port = free_port(), free_port()
    answer = await client.join_etcd("second", f"https://127.0.0.1:{peer}")
    write_etcd_ca(joiner, answer.ca)
    await asyncio.to_thread(ensure_etcd_pki, joiner, PKISettings())
    log = tmp_path / "etcd2.log"
    proc = start_joined_etcd(joiner, "second", answer.initial_cluster, peer, client_port, log)
    access = access_for(bed)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=etcd_ssl(access))) as session:
        try:
            promoted = None
            for _ in range(300):
                assert proc.poll() is None, log.read_text()
                promoted = await promote_one_learner(session, access)
                if promoted:
                    break
                await asyncio.sleep(0.1)
            assert promoted == "second"
            members = await list_members(session, access)
            assert sorted(m["name"] for m in members) == ["second", "test"]
            assert not any(m.get("isLearner") for m in members)
            assert joiner.etcd_joined_marker.exists() or (joiner.etcd_data_dir / "member").is_dir()
            assert await promote_one_learner(session, access) is None  # nothing left to promote
        finally:
            for member in await list_members(session, access):
                if member.get("name") != "test":
                    await remove_member(session, bed.etcd.url, member["ID"])
            stop_process(proc)
