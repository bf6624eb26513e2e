"""Detect the cgroup v2 device controller by attaching a do-nothing eBPF device filter.

The v2 device controller has no interface files: it is eBPF programs of type BPF_PROG_TYPE_CGROUP_DEVICE
attached to a cgroup. As k0s does, k0spy creates a temporary cgroup, loads a two-instruction program
("allow everything": r0 = 1; exit), attaches it, and removes it all again. EINVAL or E2BIG from the
kernel mean the program type is unknown (no device controller); the bpf(2) call goes through libc's
syscall() because Python has no binding for it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import resource
import struct
import tempfile
from functools import cache
from pathlib import Path

_BPF_SYSCALL = {"x86_64": 321, "aarch64": 280, "arm64": 280, "riscv64": 280, "ppc64le": 361, "s390x": 351}
_BPF_PROG_LOAD = 5
_BPF_PROG_ATTACH = 8
_BPF_PROG_DETACH = 9
_BPF_PROG_TYPE_CGROUP_DEVICE = 15
_BPF_CGROUP_DEVICE = 6
_ATTR_SIZE = 128  # zero-filled beyond the fields we set, which every kernel accepts

# r0 = 1 (BPF_ALU64 | BPF_MOV | BPF_K), exit (BPF_JMP | BPF_EXIT)
_PROGRAM = struct.pack("<BBhi", 0xB7, 0, 0, 1) + struct.pack("<BBhi", 0x95, 0, 0, 0)
_LICENSE = b"Apache-2.0\0"


@cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _bpf(cmd: int, attr: ctypes.Array[ctypes.c_char]) -> int:
    number = _BPF_SYSCALL.get(platform.machine())
    if number is None:
        raise OSError(0, f"bpf(2) syscall number unknown on {platform.machine()}")
    ret = int(_libc().syscall(ctypes.c_long(number), ctypes.c_int(cmd), attr, ctypes.c_uint(len(attr))))
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return ret


def _load_program() -> int:
    insns = ctypes.create_string_buffer(_PROGRAM, len(_PROGRAM))
    license_ = ctypes.create_string_buffer(_LICENSE, len(_LICENSE))
    attr = ctypes.create_string_buffer(_ATTR_SIZE)
    # prog_type u32, insn_cnt u32, insns u64, license u64 (then log_level, log_size, log_buf... all 0)
    struct.pack_into("<IIQQ", attr, 0, _BPF_PROG_TYPE_CGROUP_DEVICE, len(_PROGRAM) // 8,
                     ctypes.addressof(insns), ctypes.addressof(license_))
    try:
        return _bpf(_BPF_PROG_LOAD, attr)
    except PermissionError:
        # Kernels before 5.11 charge BPF programs to RLIMIT_MEMLOCK; lift it once and retry, as k0s does.
        _, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
        if hard != resource.RLIM_INFINITY:
            raise
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        return _bpf(_BPF_PROG_LOAD, attr)


def _attach(cmd: int, cgroup_fd: int, prog_fd: int) -> None:
    attr = ctypes.create_string_buffer(_ATTR_SIZE)
    # target_fd u32, attach_bpf_fd u32, attach_type u32, attach_flags u32
    struct.pack_into("<IIII", attr, 0, cgroup_fd, prog_fd, _BPF_CGROUP_DEVICE, 0)
    _bpf(cmd, attr)


def attach_dummy_device_filter(mount_point: Path) -> None:
    """Load, attach and detach an allow-all device filter on a temporary cgroup; raises OSError."""
    tmp = tempfile.mkdtemp(prefix="k0spy-devices-detection-", dir=mount_point)
    try:
        cgroup_fd = os.open(tmp, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
        try:
            prog_fd = _load_program()
            try:
                _attach(_BPF_PROG_ATTACH, cgroup_fd, prog_fd)
                _attach(_BPF_PROG_DETACH, cgroup_fd, prog_fd)
            finally:
                os.close(prog_fd)
        finally:
            os.close(cgroup_fd)
    finally:
        os.rmdir(tmp)
