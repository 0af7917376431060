"""Run a learner's kernel in an operating-system sandbox.

A graded kernel runs untrusted code. It starts under bubblewrap with no network (its own
network namespace), its own process tree, a read-only view of the machine in which the
course's solutions, the submissions, the gradebook and the grader's home are hidden, and
one writable working folder. rlimits cap its address space, its process count and the size
of any file it writes. When the grader runs as root, each kernel runs as an unprivileged
user of its own, so the process cap counts that kernel's processes only.

The kernel talks to the grader over Unix sockets in the working folder, the only channel
that crosses the network namespace.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client import KernelManager

from autograder.errors import AutograderError

BUBBLEWRAP = "bwrap"
# Each sandbox of a root grader runs as its own user: this base plus the worker's pid.
SANDBOX_UID_BASE = 200_000


class SandboxError(AutograderError, RuntimeError):
    """Raised when the sandbox cannot be set up or the kernel cannot start in it."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one graded kernel.

    Times are in seconds, sizes in bytes. ``output_bytes`` caps what one cell may print;
    the rest is dropped with a note.
    """

    cell_seconds: float = 30.0
    notebook_seconds: float = 600.0
    memory_bytes: int = 2 * 2**30
    processes: int = 128
    file_bytes: int = 64 * 2**20
    output_bytes: int = 2**20


@dataclass(frozen=True)
class SandboxPolicy:
    """Folders and files the sandbox hides, and whether to sandbox at all."""

    enabled: bool = True
    hidden: tuple[str, ...] = ()
    extra_readable: tuple[str, ...] = field(default_factory=tuple)


def require_bubblewrap() -> str:
    """Return the path of bwrap, or raise ``SandboxError`` saying how to install it."""
    path = shutil.which(BUBBLEWRAP)
    if path is None:
        raise SandboxError(
            "bubblewrap (bwrap) is not installed, so submissions cannot be sandboxed; "
            "install it (Debian/Ubuntu: apt-get install bubblewrap) or pass --no-sandbox "
            "to grade without a sandbox on a machine you trust with the learners' code"
        )
    return path


def sandbox_user() -> int | None:
    """Return the user id a kernel of this process runs as, or None to keep the grader's own."""
    return SANDBOX_UID_BASE + os.getpid() if os.geteuid() == 0 else None


def confine_command(command: list[str], workdir: Path, limits: Limits, policy: SandboxPolicy) -> list[str]:
    """Wrap ``command`` so it runs confined: rlimits always, bubblewrap when the policy asks.

    The rlimits apply with or without bubblewrap, so even an unsandboxed run cannot fill
    the memory or fork without bound. A root grader starts bubblewrap as root, which can
    mount without a user namespace, and the kernel drops to its own user inside.
    """
    rlimits = [
        "prlimit",
        f"--as={limits.memory_bytes}",
        f"--nproc={_process_limit(limits, policy)}",
        f"--fsize={limits.file_bytes}",
        "--core=0",
        "--",
    ]
    if not policy.enabled:
        return [*rlimits, *command]

    user = sandbox_user()
    if user is None:
        return [*rlimits, *_bubblewrap_arguments(workdir, policy, ["--unshare-all"]), *command]
    switch_user = [
        "setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
    ]
    namespaces = ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    return [*_bubblewrap_arguments(workdir, policy, namespaces), *switch_user, *rlimits, *command]


# NOTE: rlimits cap each file a kernel writes (file_bytes) but not how many files it writes
# into its working folder. A disk quota would need a filesystem of its own per kernel.
def prepare_workdir(workdir: Path, policy: SandboxPolicy) -> None:
    """Create the kernel's working folder, owned by the sandbox user when there is one.

    The folders above it must let that user pass, so they are opened for traversal only.
    """
    (workdir / "tmp").mkdir(parents=True, exist_ok=True)
    user = sandbox_user() if policy.enabled else None
    if user is not None:
        workdir.parent.chmod(0o711)
        for path in (workdir, *workdir.rglob("*")):
            os.chown(path, user, user, follow_symlinks=False)


def kernel_environment(workdir: Path) -> dict[str, str]:
    """Return the environment of a graded kernel: nothing of the grader's but what Python needs."""
    keep = ("PATH", "LANG", "LC_ALL", "VIRTUAL_ENV", "PYTHONHASHSEED")
    environment = {name: os.environ[name] for name in keep if name in os.environ}
    environment.update(
        HOME=str(workdir),
        TMPDIR=str(workdir / "tmp"),
        IPYTHONDIR=str(workdir / ".ipython"),
        MPLCONFIGDIR=str(workdir / ".matplotlib"),
        JUPYTER_RUNTIME_DIR=str(workdir / ".jupyter"),
        PYTHONDONTWRITEBYTECODE="1",
        # Few malloc arenas keep the kernel's address space, which the memory cap bounds,
        # close to what it really uses.
        MALLOC_ARENA_MAX="2",
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
    )
    return environment


class SandboxedKernelManager(KernelManager):
    """A kernel manager that starts the IPython kernel confined, over Unix sockets.

    Interrupts go as messages on the control channel: a signal to bubblewrap would stop at
    bubblewrap, not reach the kernel.
    """

    def __init__(self, workdir: Path, limits: Limits, policy: SandboxPolicy, **kwargs):
        super().__init__(transport="ipc", ip=str(workdir / ".kernel"), kernel_name="python3", **kwargs)
        self.connection_file = str(workdir / ".kernel.json")
        self.workdir = workdir
        self.limits = limits
        self.policy = policy

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        self.kernel_spec.interrupt_mode = "message"
        command = [
            sys.executable,
            "-m",
            "ipykernel_launcher",
            "-f",
            self.connection_file,
            "--HistoryManager.hist_file=:memory:",
            "--IPKernelApp.log_level=ERROR",
        ]
        return confine_command(command, self.workdir, self.limits, self.policy)

    def write_connection_file(self, **kwargs) -> None:
        super().write_connection_file(**kwargs)
        user = sandbox_user() if self.policy.enabled else None
        if user is not None:
            os.chown(self.connection_file, user, user)


def _process_limit(limits: Limits, policy: SandboxPolicy) -> int:
    if policy.enabled and sandbox_user() is not None:
        return limits.processes
    # Without a user of its own the kernel shares the grader's count of processes, which
    # already includes the grader's own.
    return limits.processes + _processes_of_this_user()


def _processes_of_this_user() -> int:
    uid = os.getuid()
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                count += entry.stat().st_uid == uid
            except OSError:
                continue
    return count


def _bubblewrap_arguments(workdir: Path, policy: SandboxPolicy, namespaces: list[str]) -> list[str]:
    arguments = [
        require_bubblewrap(),
        *namespaces,
        "--die-with-parent",
        "--new-session",
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
    ]
    needed = [
        Path(sys.prefix).resolve(),
        Path(sys.base_prefix).resolve(),
        Path(__file__).resolve().parents[1],
        *map(Path, policy.extra_readable),
    ]
    # The grader's home may hold cloud credentials, and /tmp other sandboxes' folders; the
    # kernel has no reason to read either.
    hidden_paths = {Path(path).resolve() for path in (*policy.hidden, Path.home(), "/tmp")}
    for hidden in sorted(hidden_paths, key=lambda p: len(p.parts)):
        if hidden.is_dir():
            arguments += ["--perms", "0755", "--tmpfs", str(hidden)]
            for path in needed:
                if _inside(path, hidden):
                    arguments += [*_folders_between(hidden, path), "--ro-bind", str(path), str(path)]
        elif hidden.exists():
            arguments += ["--ro-bind", "/dev/null", str(hidden)]
    workdir = workdir.resolve()
    fresh = max((path for path in (Path("/tmp"), *hidden_paths) if _inside(workdir, path)), key=lambda p: len(p.parts), default=None)
    if fresh is not None:
        arguments += _folders_between(fresh, workdir)
    # The kernel starts in / and moves to its working folder once it has imported its
    # libraries: Python puts the start folder first on sys.path, and a learner's file there
    # (an autograder.py, a json.py) must not replace them when a kernel restarts.
    arguments += ["--bind", str(workdir), str(workdir), "--chdir", "/", "--"]
    return arguments


def _folders_between(mount: Path, path: Path) -> list[str]:
    """Return the arguments that create the folders between a fresh ``mount`` and ``path``.

    bubblewrap would create them with mode 0700, and the kernel's own user must pass
    through them to reach ``path``.
    """
    arguments = []
    for folder in reversed(path.parents):
        if _inside(folder, mount) and folder != mount:
            arguments += ["--perms", "0755", "--dir", str(folder)]
    return arguments


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def start_kernel(workdir: Path, limits: Limits, policy: SandboxPolicy) -> SandboxedKernelManager:
    """Start a confined IPython kernel working in ``workdir`` and return its manager.

    Raise ``SandboxError`` when the kernel does not start, with the kernel's last words.
    """
    manager = SandboxedKernelManager(workdir, limits, policy)
    # "independent" keeps jupyter_client from telling the kernel its parent's pid: in its
    # own pid namespace the kernel would not find that process and would stop at once.
    # bubblewrap's --die-with-parent ties the kernel to the grader instead.
    # The kernel's own console output (its connection banner) means nothing to a grader.
    manager.start_kernel(
        env=kernel_environment(workdir),
        cwd=str(workdir.parent),
        independent=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return manager
