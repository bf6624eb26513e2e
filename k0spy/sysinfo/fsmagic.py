"""statfs(2) and the names of file system magic numbers.

Python's `os.statvfs` has no `f_type`, and k0s decides several things on it (the file system of the data
dir, cgroup v1 vs v2, whether /proc is procfs), so this module calls libc's statfs through ctypes. The
names are the ones k0s prints (`internal/pkg/sysinfo/probes/filesystem_linux.go`), numbers from
<linux/magic.h>.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
from functools import cache

TMPFS_MAGIC = 0x01021994
CGROUP_SUPER_MAGIC = 0x27E0EB
CGROUP2_SUPER_MAGIC = 0x63677270
PROC_SUPER_MAGIC = 0x9FA0
SYSFS_MAGIC = 0x62656572

FS_NAMES: dict[int, str] = {
    0x5A3C69F0: "aafs", 0xADF5: "adfs", 0xADFF: "affs", 0x6B414653: "afs_fs", 0x5346414F: "afs",
    0x09041934: "anon_inode_fs", 0x0187: "autofs", 0x62646576: "bdevfs", 0x6C6F6F70: "binderfs",
    0x42494E4D: "binfmtfs", 0xCAFE4A11: "bpf_fs", 0x9123683E: "btrfs", 0x73727279: "btrfs_test",
    0x00C36400: "ceph", CGROUP2_SUPER_MAGIC: "cgroup2", CGROUP_SUPER_MAGIC: "cgroup", 0xFF534D42: "cifs",
    0x73757245: "coda", 0x28CD3D45: "cramfs", 0x64646178: "daxfs", 0x64626720: "debugfs",
    0x454D444D: "devmem", 0x1CD1: "devpts", 0x444D4142: "dma_buf", 0xF15F: "ecryptfs",
    0xDE5E81E4: "efivarfs", 0x414A53: "efs", 0xE0F5E1E2: "erofs v1", 0x2011BAB0: "exfat", 0xEF53: "ext4",
    0xF2F52010: "f2fs", 0x65735546: "fuse", 0x0BAD1DEA: "futexfs", 0x00C0FFEE: "hostfs", 0xF995E849: "hpfs",
    0x958458F6: "hugetlbfs", 0x9660: "isofs", 0x72B6: "jffs2", 0x2468: "minix v2",
    0x2478: "minix v2 (30 char names)", 0x4D5A: "minix v3", 0x137F: "minix", 0x138F: "minix (30 char names)",
    0x4D44: "msdos", 0x11307854: "mtd_inode_fs", 0x564C: "ncp", 0x6969: "nfs", 0x3434: "nilfs",
    0x6E736673: "nsfs", 0x7461636F: "ocfs2", 0x9FA1: "openprom", 0x794C7630: "overlayfs",
    0x50494446: "pid_fs", 0x50495045: "pipefs", PROC_SUPER_MAGIC: "proc", 0x6165676C: "pstorefs",
    0x002F: "qnx4", 0x68191122: "qnx6", 0x858458F6: "ramfs", 0x07655821: "rdtgroup",
    0x52654973: "reiserfs", 0x5345434D: "secretmem", 0x73636673: "securityfs", 0xF97CFF8C: "selinux",
    0x43415D53: "smack", 0xFE534D42: "smb2", 0x517B: "smb", 0x534F434B: "sockfs", 0x73717368: "squashfs",
    0x57AC6E9D: "stack_end", SYSFS_MAGIC: "sysfs", TMPFS_MAGIC: "tmpfs", 0x74726163: "tracefs",
    0x15013346: "udf", 0x9FA2: "usbdevice", 0x01021997: "v9fs", 0xABBA1974: "xenfs", 0x58465342: "xfs",
    0x5A4F4653: "zonefs",
}


class _Statfs(ctypes.Structure):
    # struct statfs on 64-bit Linux: every field but f_fsid and f_spare is a long (__fsword_t / fsblkcnt_t).
    _fields_ = [
        ("f_type", ctypes.c_long),
        ("f_bsize", ctypes.c_long),
        ("f_blocks", ctypes.c_ulong),
        ("f_bfree", ctypes.c_ulong),
        ("f_bavail", ctypes.c_ulong),
        ("f_files", ctypes.c_ulong),
        ("f_ffree", ctypes.c_ulong),
        ("f_fsid", ctypes.c_int * 2),
        ("f_namelen", ctypes.c_long),
        ("f_frsize", ctypes.c_long),
        ("f_flags", ctypes.c_long),
        ("f_spare", ctypes.c_long * 4),
    ]


@cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def fs_type(path: str | os.PathLike[str]) -> int:
    """The file system magic number of `path` (statfs `f_type`); raises OSError like os.stat does."""
    buf = _Statfs()
    encoded = os.fsencode(path)
    if _libc().statfs(encoded, ctypes.byref(buf)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), os.fsdecode(encoded))
    return int(buf.f_type) & 0xFFFFFFFF


def fs_name(magic: int) -> str | None:
    """k0s's name for a magic number, or None for one it does not know."""
    return FS_NAMES.get(magic)


def statfs_walking_up(path: str) -> tuple[str, int]:
    """statfs the nearest existing ancestor of `path` (k0s probes a data dir that may not exist yet).

    Returns the path that was probed and its magic number; any error but "does not exist" propagates.
    """
    current = path
    while True:
        try:
            return current, fs_type(current)
        except OSError as err:
            parent = os.path.dirname(current)
            if err.errno != errno.ENOENT or parent == current:
                raise
            current = parent
