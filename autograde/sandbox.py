"""Run a student's kernel where it can do no harm: bubblewrap, resource limits, a watchdog.

Only the *kernel* (the process that runs student code) is sandboxed. The executor
(nbclient inside nbgrader's ``Execute``), the gradebook and the hidden tests stay
outside; the executor sends the kernel one cell at a time over Unix sockets in a
private folder, so the kernel needs no network at all.

Inside the sandbox the kernel sees a read-only system (``/usr``, ``/etc``, the Python
installation, the venv, ``labkit/`` and ``data/``; matplotlib's font list, built once
outside), a private ``/tmp`` of bounded size, and one writable folder: its own scratch
copy of the submission (nbgrader's autograded folder for that student and lab).
``solutions/``, the gradebook, other students' work and the network are simply not there.
When the grader runs as root, the kernel drops to a uid of its own, so a per-process-count
limit applies to it alone.

A watchdog thread in the executor sums the memory and counts the processes of the
kernel's process tree and kills the whole sandbox when a limit is passed; the reason is
kept so the report can say "used 5.2 GiB of memory (limit 4 GiB)" instead of "kernel died".
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Integer, Unicode

from autograde.course import REPO_ROOT

GIB = 1024**3
MIB = 1024**2

# Sets the limits the kernel cannot lift, drops root if the sandbox started as root, then
# becomes the kernel. Runs with the sandbox's own Python, so no file of ours is needed inside.
_DROP_AND_EXEC = """\
import os, resource, sys
uid, nproc, fsize = (int(v) for v in sys.argv[1:4])
cwd, argv = sys.argv[4], sys.argv[5:]
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
if uid >= 0:
    os.setgroups([]); os.setgid(uid); os.setuid(uid)
resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
os.chdir(cwd)
os.execvp(argv[0], argv)
"""


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces on this machine."""


@functools.lru_cache(maxsize=1)
def sandbox_status() -> tuple[bool, str]:
    """(available, explanation). Probes bwrap once: it must exist and be able to unshare."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return False, "bubblewrap (bwrap) is not installed; `make setup` installs it on Debian/Ubuntu"
    probe = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
             "--unshare-all", "--die-with-parent", "true"]
    done = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return False, f"bubblewrap cannot create namespaces here ({why})"
    return True, f"bubblewrap sandbox ({bwrap})"


def require_sandbox(unsandboxed_ok: bool) -> str:
    """Say how kernels will run; refuse to grade unsandboxed unless the TA asked for it."""
    ok, why = sandbox_status()
    if ok:
        return why
    if not unsandboxed_ok:
        raise SandboxUnavailable(
            f"cannot sandbox student code: {why}. Install bubblewrap, or pass --unsandboxed "
            "(make autograde UNSANDBOXED=1) to grade WITHOUT a sandbox on a machine you trust."
        )
    return f"UNSANDBOXED (asked for): {why}"


def _read_only_roots() -> list[str]:
    """What the kernel may read: the system, this Python, the venv, labkit and the datasets."""
    roots = ["/usr", "/etc", "/opt", "/sys", sys.base_prefix, sys.prefix,
             str(REPO_ROOT / "labkit"), str(REPO_ROOT / "data")]
    # /bin, /lib, ... are symlinks into /usr on merged-/usr systems, real folders elsewhere
    roots += [p for p in ("/bin", "/sbin", "/lib", "/lib32", "/lib64") if os.path.isdir(p) and not os.path.islink(p)]
    seen: list[str] = []
    for root in roots:
        if os.path.exists(root) and root not in seen:
            seen.append(root)
    return seen


@functools.lru_cache(maxsize=1)
def matplotlib_font_cache() -> Path | None:
    """A folder holding matplotlib's font list, built once per user and matplotlib version.

    Every sandboxed kernel starts with an empty private ``/tmp``, so matplotlib would scan the
    system's fonts again in each graded notebook that plots (≈ 0.3 s, see docs/benchmarks.md);
    the kernel gets this list read-only instead. It is built in a child process, from the fonts
    every kernel sees (the system's and matplotlib's own: not this user's home). None when it
    cannot be built, or with ``AUTOGRADE_FONT_CACHE=0``: kernels then build their own."""
    from importlib.metadata import PackageNotFoundError, version

    if os.environ.get("AUTOGRADE_FONT_CACHE") == "0":
        return None
    try:
        folder = (Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                  / "deep-learning-labs" / f"matplotlib-{version('matplotlib')}")
    except (PackageNotFoundError, RuntimeError):
        return None
    if any(folder.glob("fontlist-*.json")):
        return folder
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder.parent) as home:
            building = Path(home) / "cache"
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "MPLCONFIGDIR": str(building)}
            subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env,
                           check=True, capture_output=True, timeout=300)
            if not any(building.glob("fontlist-*.json")):
                return None
            try:
                building.rename(folder)  # atomic; another grader process may have won the race
            except OSError:
                pass
    except (OSError, subprocess.SubprocessError):
        return None
    return folder if any(folder.glob("fontlist-*.json")) else None


def bwrap_command(
    kernel_argv: list[str],
    scratch: Path,
    ipc_dir: Path,
    uid: int,
    max_processes: int,
    max_file_bytes: int,
    tmp_bytes: int,
    font_cache: Path | None = None,
) -> list[str]:
    """The bwrap command line that runs ``kernel_argv`` in the sandbox (see module doc);
    ``font_cache`` (see :func:`matplotlib_font_cache`) is bound read-only into the kernel's
    matplotlib folder, which stays writable for anything else matplotlib keeps there."""
    # As root, no user namespace: the kernel then drops to ``uid``, a real uid of its own.
    user_ns = [] if uid >= 0 else ["--unshare-user"]
    cmd = ["bwrap", *user_ns, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
           "--unshare-cgroup-try", "--die-with-parent", "--new-session",
           "--hostname", "sandbox", "--proc", "/proc", "--dev", "/dev"]
    for link, target in (("/bin", "usr/bin"), ("/sbin", "usr/sbin"), ("/lib", "usr/lib"), ("/lib64", "usr/lib64")):
        if os.path.islink(link):
            cmd += ["--symlink", target, link]
    cmd += ["--perms", "1777", "--size", str(tmp_bytes), "--tmpfs", "/tmp"]
    if font_cache is not None:
        cmd += ["--perms", "1777", "--dir", "/tmp/matplotlib"]
        for path in sorted(font_cache.glob("fontlist-*.json")):
            cmd += ["--ro-bind", str(path), f"/tmp/matplotlib/{path.name}"]
    roots = _read_only_roots()
    # bwrap makes missing parent folders root-only; the kernel's uid must be able to pass them
    for parent in _ancestors([*roots, str(scratch), str(ipc_dir)]):
        cmd += ["--perms", "0755", "--dir", parent]
    for root in roots:
        cmd += ["--ro-bind", root, root]
    for gpu in sorted(Path("/dev").glob("nvidia*")):  # CUDA needs its device nodes
        cmd += ["--dev-bind", str(gpu), str(gpu)]
    cmd += ["--bind", str(scratch), str(scratch),
            "--bind", str(ipc_dir), str(ipc_dir),
            "--chdir", "/",
            "--setenv", "HOME", str(scratch),
            "--setenv", "MPLCONFIGDIR", "/tmp/matplotlib",
            "--setenv", "JUPYTER_RUNTIME_DIR", str(ipc_dir),
            "--setenv", "IPYTHONDIR", "/tmp/ipython",
            "--setenv", "LABKIT_SANDBOXED", "1",
            # the kernel's parent is pid 1 inside: its parent poller would quit at once
            "--unsetenv", "JPY_PARENT_PID"]
    python = kernel_argv[0] if os.path.isabs(kernel_argv[0]) else shutil.which(kernel_argv[0]) or sys.executable
    return cmd + ["--", python, "-c", _DROP_AND_EXEC, str(uid), str(max_processes), str(max_file_bytes),
                  str(scratch), python, *kernel_argv[1:]]


def _ancestors(paths: list[str]) -> list[str]:
    """Parent folders of ``paths`` (not / nor /tmp), shallowest first, without repeats."""
    found: list[str] = []
    for path in paths:
        for parent in reversed(Path(path).parents):
            if str(parent) not in ("/", "/tmp") and str(parent) not in found and not os.path.islink(parent):
                found.append(str(parent))
    return sorted(found, key=lambda p: p.count("/"))


class Watchdog(threading.Thread):
    """Kills the kernel's whole process tree when it uses too much memory or too many processes."""

    def __init__(self, pid: int, memory_bytes: int, max_processes: int, interval: float = 0.1):
        super().__init__(daemon=True, name=f"watchdog-{pid}")
        self.pid, self.memory_bytes, self.max_processes, self.interval = pid, memory_bytes, max_processes, interval
        self.violation = ""
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop_event.wait(self.interval):
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            rss = 0
            for proc in tree:
                try:
                    rss += proc.memory_info().rss
                except psutil.Error:
                    continue
            if len(tree) > self.max_processes // 2 + 2:  # bwrap's own two processes do not count
                # processes, not threads: RLIMIT_NPROC (max_processes) already caps both together
                self.violation = f"started more than {self.max_processes // 2} processes"
            elif rss > self.memory_bytes:
                # RSS counts pages shared by forked children once per child; confirm with PSS
                used = _proportional_memory(tree)
                if used > self.memory_bytes:
                    self.violation = f"used {used / GIB:.1f} GiB of memory (limit {self.memory_bytes / GIB:g} GiB)"
            if self.violation:
                for proc in reversed(tree):
                    try:
                        proc.send_signal(signal.SIGKILL)
                    except psutil.Error:
                        continue
                return


def _proportional_memory(tree) -> int:
    """Sum of PSS (shared pages split between the processes sharing them) over ``tree``."""
    import psutil

    total = 0
    for proc in tree:
        try:
            total += proc.memory_full_info().pss
        except (psutil.Error, AttributeError):
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
    return total


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel in the bubblewrap sandbox, with limits.

    With ``sandbox=False`` (the TA asked to grade unsandboxed) the kernel starts normally
    but the memory/process watchdog and the file-size limit still apply.
    """

    sandbox = Bool(True, help="run the kernel in bubblewrap").tag(config=True)
    memory_limit = Integer(4 * GIB, help="bytes of memory for the kernel's process tree").tag(config=True)
    max_processes = Integer(64, help="processes and threads the kernel may have at once").tag(config=True)
    max_file_bytes = Integer(256 * MIB, help="largest file the kernel may write").tag(config=True)
    tmp_bytes = Integer(512 * MIB, help="size of the kernel's private /tmp").tag(config=True)
    ipc_parent = Unicode("", help="where the kernel's socket folder is made (default: system temp)").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Unix sockets in a private folder: the kernel has no network, and only this
        # executor (and the kernel) can see the folder.
        self._ipc_dir = Path(tempfile.mkdtemp(prefix="kernel-ipc-", dir=self.ipc_parent or None))
        self.transport = "ipc"
        self.ip = str(self._ipc_dir / "kernel")
        self.connection_file = str(self._ipc_dir / "kernel.json")
        self.watchdog: Watchdog | None = None
        self._scratch: Path | None = None
        self._uid = 200_000 + secrets.randbelow(800_000) if os.geteuid() == 0 else -1

    @property
    def violation(self) -> str:
        """Why the watchdog killed the kernel ('' if it did not)."""
        return self.watchdog.violation if self.watchdog else ""

    def write_connection_file(self, **kwargs) -> None:
        super().write_connection_file(**kwargs)
        if self._uid >= 0:  # the kernel runs as its own uid and must read its keys and make sockets
            os.chown(self._ipc_dir, self._uid, self._uid)
            os.chown(self.connection_file, self._uid, self._uid)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        cwd = Path(kw.get("cwd") or os.getcwd())
        if self.sandbox:
            if self._uid >= 0:
                self._scratch = cwd
                _chown_tree(cwd, self._uid)
            kw["stdout"] = subprocess.DEVNULL  # the kernel's connection banner, not student output
            kernel_cmd = bwrap_command(kernel_cmd, cwd, self._ipc_dir, self._uid, self.max_processes,
                                       self.max_file_bytes, self.tmp_bytes, matplotlib_font_cache())
        else:
            self._uid = -1
            kernel_cmd = [sys.executable, "-c", _DROP_AND_EXEC, "-1", str(self.max_processes * 64),
                          str(self.max_file_bytes), str(cwd), *kernel_cmd]
        await super()._async_launch_kernel(kernel_cmd, **kw)
        process = getattr(self.provisioner, "process", None)
        if process is not None:
            self.watchdog = Watchdog(process.pid, self.memory_limit, self.max_processes)
            self.watchdog.start()

    async def _async_interrupt_kernel(self) -> None:
        # A SIGINT would reach bwrap, not the kernel: ask the kernel itself over its control socket.
        if self.has_kernel and self.sandbox:
            assert self.kernel_spec is not None
            self.kernel_spec.interrupt_mode = "message"
        await super()._async_interrupt_kernel()

    interrupt_kernel = _async_interrupt_kernel

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        if self.watchdog and not restart:
            self.watchdog.stop()
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            if self._scratch is not None and self._uid >= 0:
                _chown_tree(self._scratch, os.getuid())  # hand the scratch copy back to the grader
            shutil.rmtree(self._ipc_dir, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


def _chown_tree(folder: Path, uid: int) -> None:
    """Give the sandbox's uid its scratch folder (a copy: never a student's original)."""
    for path in [folder, *folder.rglob("*")]:
        try:
            os.lchown(path, uid, uid)
        except OSError:
            continue
