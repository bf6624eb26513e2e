"""Reset deletes only the users `k0spy install` made (home = the data dir), never a package's own user."""

from pathlib import Path

from k0spy.service.users import created_by_install, delete_users, user_home


def make_root(tmp_path: Path) -> Path:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/bash\n"
        "etcd:x:102:104:etcd user:/var/lib/etcd:/usr/sbin/nologin\n"
        "kube-apiserver:x:995:995::/var/lib/k0s:/usr/sbin/nologin\n")
    return tmp_path


def test_created_by_install_is_decided_by_the_home_dir(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    assert user_home(root, "etcd") == "/var/lib/etcd"
    assert created_by_install(root, "kube-apiserver", Path("/var/lib/k0s"))
    assert created_by_install(root, "kube-apiserver", Path("/var/lib/k0s/"))
    assert not created_by_install(root, "etcd", Path("/var/lib/k0s"))
    assert not created_by_install(root, "nobody-here", Path("/var/lib/k0s"))


def test_a_package_user_is_kept_with_the_reason_and_a_missing_one_is_absent(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    results = delete_users(root, ["etcd", "kube-scheduler"], Path("/var/lib/k0s"))
    assert [(r.name, r.action) for r in results] == [("etcd", "kept"), ("kube-scheduler", "absent")]
    assert "/var/lib/etcd" in results[0].detail
    assert "etcd:x:102" in (root / "etc" / "passwd").read_text()
