"""Which probes run for which roles, in k0s's order, and the pre-flight check built on them.

The selection follows `internal/pkg/sysinfo/sysinfo.go` and `host_linux.go`: memory (1 GiB for a
controller, 500 MiB for a worker alone), the data dir's file system and free space (500 MiB per
controller plus 1300 MiB per worker, and 15 % for a worker), `localhost` resolution, containerd drop-ins
(worker), then the OS group: kernel release, open-file limit, AppArmor, worker executables, /proc,
cgroups (worker) and kernel options. `debug` (the `sysinfo` command) adds k0s's optional kernel options
and k0spy's own extra probes; pre-flight runs without them, so it decides exactly as k0s does.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from k0spy.errors import K0spyError
from k0spy.paths import Paths
from k0spy.sysinfo import cgroups, containerd, executables, extras, kernel, mounts, resources
from k0spy.sysinfo.kconfig_tree import kernel_config_tree
from k0spy.sysinfo.kernelconfig import KConfigLookup, NoKernelConfig, judge, load_kconfig
from k0spy.sysinfo.model import GI, MI, ProbeReport, Status


def run_probes(
    paths: Paths, *, controller: bool, worker: bool, debug: bool, root: Path = Path("/")
) -> ProbeReport:
    """Run every probe for the given roles and return all results in k0s's order.

    `root` relocates the files read for the kernel config (tests point it at a fixture tree).
    """
    report = ProbeReport()
    data_dir = str(paths.data_dir)
    if controller:
        report.add(resources.probe_total_memory(("memory",), 1 * GI))
    elif worker:
        report.add(resources.probe_total_memory(("memory",), 500 * MI))
    min_free = (500 * MI if controller else 0) + (1300 * MI if worker else 0)
    report.add(resources.probe_file_system((f"filesystem:{data_dir}",), data_dir))
    report.add(resources.probe_free_disk((f"disk:{data_dir}",), data_dir, min_free, relative=False))
    if worker:
        report.add(resources.probe_free_disk((f"reldisk:{data_dir}",), data_dir, 15, relative=True))
    report.add(resources.probe_name_resolution(("nameResolution:localhost",), "localhost"))
    if worker:
        report.results.extend(containerd.probe_config_snippets(paths.containerd_dropin_dir))
    _add_os_probes(report, worker=worker, debug=debug, root=root)
    if debug:
        report.results.extend(extras.extra_probes(worker=worker, bin_dir=paths.bin_dir))
    return report


def _add_os_probes(report: ProbeReport, *, worker: bool, debug: bool, root: Path) -> None:
    uname = kernel.uname()
    report.add(kernel.assess_os(uname.sysname))
    report.add(kernel.assess_kernel_release(uname.release))
    report.add(kernel.probe_open_files())
    report.add(kernel.probe_apparmor())
    if worker:
        for name in executables.WORKER_EXECUTABLES:
            report.add(executables.probe_executable(kernel.OS_PATH, name))
        report.add(mounts.probe_procfs((*kernel.OS_PATH, "procfs")))
        report.results.extend(cgroups.probe_cgroups(kernel.OS_PATH))
    configs = kernel_configs(uname.release, root)
    for spec in kernel_config_tree(worker=worker, debug=debug):
        report.results.extend(judge(spec, kernel.OS_PATH, configs))


def kernel_configs(release: str, root: Path = Path("/")) -> KConfigLookup:
    """The running kernel's options, or the exception that says why they cannot be known."""
    try:
        return load_kconfig(release, root)[1]
    except NoKernelConfig as err:
        return err
    except OSError as err:
        return OSError(err.errno, f"open {err.filename}: {(err.strerror or '').lower()}")
    except (gzip.BadGzipFile, zlib.error, EOFError) as err:
        return ValueError(f"reading the kernel config: {err}")


class PreflightFailed(K0spyError):
    """A required probe rejected the machine (or could not look at it)."""


def preflight(paths: Paths, *, controller: bool, worker: bool, lenient: bool = False) -> ProbeReport:
    """k0s's pre-flight check: log warnings and failures, then raise unless `lenient`.

    `lenient` is `--ignore-pre-flight-checks`: failures are logged as warnings and start-up goes on.
    """
    from k0spy.log import get_logger

    log = get_logger(component="preflight")
    report = run_probes(paths, controller=controller, worker=worker, debug=False)
    for result in report:
        check = "/".join(result.path)
        if result.status is Status.WARN:
            log.warning("preflight.warning", check=check, property=result.value, reason=result.reason)
        elif result.status.failed:
            level = log.warning if lenient else log.error
            level("preflight.rejected", check=check, property=result.value, reason=result.reason,
                  status=result.status.value)
        else:
            log.debug("preflight.passed", check=check, property=result.value)
    if report.failed and not lenient:
        names = ", ".join("/".join(r.path) for r in report.failures)
        raise PreflightFailed(f"pre-flight checks failed: {names}",
                              "run `k0spy sysinfo` for details, or pass --ignore-pre-flight-checks")
    return report
