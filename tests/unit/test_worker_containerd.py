"""containerd rendering (§5.7): version detection, config schema v2/v3, the managed marker, argv, reload."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from k0spy.components import containerd as c
from k0spy.errors import K0spyError
from k0spy.paths import Paths

K0S = Paths.build("/var/lib/k0s", run_dir="/run/k0s", etc_dir="/etc/k0s")
PAUSE = "quay.io/k0sproject/pause:3.10.2-0"


@pytest.mark.parametrize(("output", "version"), [
    ("containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3\n", (1, 6)),
    ("containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7193e4e490e9fbdc\n", (2, 1)),
    ("containerd containerd.io 1.7.27 05044ec0a9a75232cad458027ca83437aae3f4da", (1, 7)),
    ("containerd github.com/k0sproject/containerd v2.3.4-k0s.0 abc", (2, 3)),
])
def test_parse_version(output: str, version: tuple[int, int]) -> None:
    assert c.parse_version(output) == version


def test_parse_version_error_names_the_output() -> None:
    with pytest.raises(K0spyError, match="'containerd dev'"):
        c.parse_version("containerd dev")


@pytest.mark.parametrize(("version", "schema", "action"), [
    ((1, 6), 2, "restart"), ((1, 7), 2, "restart"), ((2, 0), 3, "sighup"), ((2, 3), 3, "sighup")])
def test_schema_and_reload_follow_the_major_version(version: tuple[int, int], schema: int,
                                                    action: str) -> None:
    assert c.config_schema(version) == schema
    assert c.reload_action(version) == action


def test_v2_config_for_containerd_1() -> None:
    text = c.render_config(schema=2, dropin_dir=K0S.containerd_dropin_dir, pause_image=PAUSE)
    assert text.startswith("# k0s_managed=true\n")
    assert tomllib.loads(text) == {
        "version": 2,
        "imports": ["/etc/k0s/containerd.d/*.toml"],
        "plugins": {"io.containerd.grpc.v1.cri": {"sandbox_image": PAUSE}},
    }


def test_v3_config_for_containerd_2_is_k0s_shape() -> None:
    text = c.render_config(schema=3, dropin_dir=K0S.containerd_dropin_dir, pause_image=PAUSE)
    assert text.startswith("# k0s_managed=true\n")
    assert tomllib.loads(text) == {
        "version": 3,
        "imports": ["/etc/k0s/containerd.d/*.toml"],
        "plugins": {"io.containerd.cri.v1.images": {"pinned_images": {"sandbox": PAUSE}},
                    "io.containerd.cri.v1.runtime": {}},
    }


def test_config_quotes_odd_paths() -> None:
    text = c.render_config(schema=2, dropin_dir=Path('/tmp/a "b"\\c'), pause_image=PAUSE)
    assert tomllib.loads(text)["imports"] == ['/tmp/a "b"\\c/*.toml']


@pytest.mark.parametrize(("existing", "managed"), [
    (None, True),
    ("# k0s_managed=true\nversion = 2\n", True),
    ("# k0s_managed=true\r\nversion = 2\n", True),
    ("# k0s_managed=true", True),
    ("version = 2\n# k0s_managed=true\n", False),
    ("# k0s_managed=false\n", False),
    (" # k0s_managed=true\n", False),
    ("", False),
])
def test_managed_marker(existing: str | None, managed: bool) -> None:
    assert c.is_managed(existing) is managed


def test_args_in_k0s_order() -> None:
    assert c.containerd_args(K0S) == [
        "--root=/var/lib/k0s/containerd",
        "--state=/run/k0s/containerd",
        "--address=/run/k0s/containerd.sock",
        "--log-level=info",
        "--config=/etc/k0s/containerd.toml",
    ]
    assert c.containerd_args(K0S, log_level="debug")[3] == "--log-level=debug"


def test_spec_writes_config_only_while_managed() -> None:
    managed = c.containerd_spec(K0S, version=(1, 6), pause_image=PAUSE, existing_config=None)
    (file,) = managed.files
    assert file.path == "/etc/k0s/containerd.toml" and file.mode == 0o644
    assert tomllib.loads(file.content)["version"] == 2
    assert managed.binary == "/var/lib/k0s/bin/containerd" and managed.user is None
    assert managed.probe is not None and managed.probe.url == "unix:///run/k0s/containerd.sock"
    assert "/etc/k0s/containerd.d" in [d.path for d in managed.dirs]
    mine = c.containerd_spec(K0S, version=(2, 1), pause_image=PAUSE, existing_config="version = 3\n")
    assert mine.files == ()
    assert mine.args == managed.args
