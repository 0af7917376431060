"""Graded kernels: start them confined, run cells with limits, recover from a stuck cell.

A ``GradingKernel`` is used for one submission only, so no kernel ever serves two learners.
Starting a kernel and importing its libraries takes seconds. Each worker process therefore
starts the next kernel in the background as soon as a submission is graded.
"""

from __future__ import annotations

import ast
import atexit
import json
import logging
import shutil
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode, v4

from autograder.grading.sandbox import Limits, SandboxError, SandboxPolicy, prepare_workdir, start_kernel

# Imported in every new kernel before any learner code runs; a module's own heavy imports
# (azure-ai-ml, scikit-learn) are added to these only where its notebooks use them.
BASE_PRELOAD = ("numpy", "autograder.learner", "autograder.grading.recording")
RECORDINGS_EXPRESSION = "__import__('autograder.grading.recording', fromlist=['take_recordings']).take_recordings()"
# How long a kernel may take to start and import the libraries above, in seconds.
START_SECONDS = 120
# How long an interrupted cell may take to stop before the kernel is restarted.
INTERRUPT_SECONDS = 5


class CappedClient(NotebookClient):
    """An nbclient client that keeps at most ``output_bytes`` of each cell's output."""

    def __init__(self, *args: Any, output_bytes: int, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.output_bytes = output_bytes
        self._used: dict[int, int] = {}
        self._truncated: set[int] = set()

    def output(self, outs, msg, display_id, cell_index):
        used = self._used.get(cell_index, 0) + len(json.dumps(msg.get("content", {})))
        self._used[cell_index] = used
        if used <= self.output_bytes:
            return super().output(outs, msg, display_id, cell_index)
        if cell_index not in self._truncated:
            self._truncated.add(cell_index)
            outs.append(v4.new_output("stream", name="stdout", text=f"\n[output truncated at {self.output_bytes} bytes]\n"))
        return None


class GradingKernel:
    """One confined kernel and its working folder, used for one submission."""

    def __init__(self, limits: Limits, policy: SandboxPolicy, preload: tuple[str, ...] = ()):
        self.limits = limits
        self.policy = policy
        self.preload = preload
        self.root = Path(tempfile.mkdtemp(prefix="azml-sandbox-"))
        self.workdir = self.root / "work"
        self.workdir.mkdir()
        self.manager = None
        # Two clients of one kernel: nbclient runs the notebook's cells through an
        # asynchronous one, and the grader's own short requests go through a blocking one
        # that listens to replies only.
        self.client = None
        self.cell_client = None

    def start(self) -> GradingKernel:
        """Start the kernel and import the heavy libraries; raise ``SandboxError`` on failure."""
        prepare_workdir(self.workdir, self.policy)
        try:
            self.manager = start_kernel(self.workdir, self.limits, self.policy)
            self.client = self.manager.client()
            self.client.start_channels(iopub=False, stdin=False, hb=False, control=False)
            self.client.wait_for_ready(timeout=START_SECONDS)
            self._connect_cell_client()
        except (RuntimeError, OSError, TimeoutError) as error:
            self.close()
            raise SandboxError(f"the grading kernel did not start: {error}") from None
        reply = self.run_code("import " + ", ".join(dict.fromkeys((*BASE_PRELOAD, *self.preload))), START_SECONDS)
        if reply is None or reply["content"]["status"] != "ok":
            self.close()
            raise SandboxError(f"the grading kernel could not import its libraries: {_reply_error(reply)}")
        return self

    def _connect_cell_client(self) -> None:
        if self.cell_client is not None:
            self.cell_client.stop_channels()
        # A session of its own: replies are routed by session id, and a shared one would
        # send the grader's replies to nbclient.
        self.cell_client = AsyncKernelClient()
        self.cell_client.load_connection_info(self.manager.get_connection_info())
        self.cell_client.start_channels()

    def add_files(self, files: tuple[tuple[str, bytes], ...]) -> None:
        """Copy support files (source folders, conda files) into the working folder."""
        for relative, content in files:
            target = self.workdir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        prepare_workdir(self.workdir, self.policy)

    def run_code(self, code: str, timeout: float, **kwargs: Any) -> dict | None:
        """Run trusted code in the kernel; return the reply, or None when no reply came in time."""
        try:
            return self.client.execute(code, reply=True, timeout=timeout, store_history=False, allow_stdin=False, **kwargs)
        except TimeoutError:
            return None

    def begin_notebook(self, learner: str) -> None:
        """Give the next notebook a clean namespace, the learner's id and the recording mode."""
        code = (
            "get_ipython().run_line_magic('reset', '-f')\n"
            "import os as _azml_os\n"
            f"_azml_os.environ['AZML_LEARNER_ID'] = {learner!r}\n"
            "_azml_os.environ['AZML_GRADING_RECORD'] = '1'\n"
            f"_azml_os.chdir({str(self.workdir)!r})\n"
            "del _azml_os\n"
        )
        reply = self.run_code(code, START_SECONDS)
        if reply is None or reply["content"]["status"] != "ok":
            raise SandboxError(f"the grading kernel did not accept a new notebook: {_reply_error(reply)}")

    def notebook_client(self, notebook: NotebookNode) -> CappedClient:
        """Return an nbclient client that runs ``notebook``'s cells in this kernel."""
        client = CappedClient(
            notebook,
            km=self.manager,
            timeout=self.limits.cell_seconds,
            allow_errors=True,
            interrupt_on_timeout=False,
            output_bytes=self.limits.output_bytes,
        )
        client.kc = self.cell_client
        return client

    def run_cell(self, client: CappedClient, cell: NotebookNode, index: int, timeout: float) -> str:
        """Run one cell; return "ok", "error", "timeout" or "died"."""
        client.timeout = max(1, int(timeout + 0.999))
        try:
            client.execute_cell(cell, index)
        except CellTimeoutError:
            return "timeout"
        except DeadKernelError:
            return "died"
        except RuntimeError:
            # nbclient raises a bare RuntimeError when the kernel dies between messages.
            return "died" if not self.manager.is_alive() else "error"
        return "error" if any(out.get("output_type") == "error" for out in cell.get("outputs", [])) else "ok"

    def recover(self) -> bool:
        """Stop a cell that overran; return True when the kernel kept its state.

        An interrupt stops most cells. A cell that ignores it, or a dead kernel, costs a
        restart, after which the caller runs the notebook's earlier cells again.
        """
        if self.manager.is_alive():
            self.manager.interrupt_kernel()
            if self.run_code("pass", INTERRUPT_SECONDS) is not None:
                # nbclient's client may still wait on the stopped cell's messages. Its
                # abandoned task would log "Task exception was never retrieved", which
                # means nothing to an instructor.
                logging.getLogger("asyncio").setLevel(logging.CRITICAL)
                self._connect_cell_client()
                return True
        self.restart()
        return False

    def restart(self) -> None:
        self.close_kernel()
        self.start()

    def take_recordings(self) -> list[dict] | None:
        """Return the answers the kernel recorded since the last call, or None if it would not say."""
        reply = self.run_code("", self.limits.cell_seconds, silent=True, user_expressions={"r": RECORDINGS_EXPRESSION})
        try:
            expression = reply["content"]["user_expressions"]["r"]
            text = ast.literal_eval(expression["data"]["text/plain"])
            recordings = json.loads(text)
        except (TypeError, KeyError, ValueError, SyntaxError):
            return None
        return recordings if isinstance(recordings, list) else None

    def close_kernel(self) -> None:
        for client in (self.client, self.cell_client):
            if client is not None:
                client.stop_channels()
        self.client = self.cell_client = None
        if self.manager is not None:
            try:
                self.manager.shutdown_kernel(now=True)
            except Exception:  # noqa: BLE001 - a kernel that is already gone needs no shutdown
                pass
            self.manager = None

    def close(self) -> None:
        """Stop the kernel and delete its working folder and everything the learner wrote."""
        self.close_kernel()
        shutil.rmtree(self.root, ignore_errors=True)


class KernelPool:
    """Keeps one kernel of this process started ahead, so a submission need not wait for it."""

    def __init__(self):
        self._starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="azml-kernel")
        self._next: tuple[tuple, Future] | None = None
        self._lock = threading.Lock()
        atexit.register(self.close)

    def take(self, limits: Limits, policy: SandboxPolicy, preload: tuple[str, ...] = ()) -> GradingKernel:
        """Return a started kernel for one submission: the one prepared ahead, or a new one."""
        key = (limits, policy, preload)
        with self._lock:
            pending, self._next = self._next, None
        kernel = None
        if pending is not None and pending[0] == key:
            try:
                kernel = pending[1].result()
            except SandboxError:
                kernel = None
        elif pending is not None:
            _discard(pending[1])
        if kernel is None:
            kernel = GradingKernel(limits, policy, preload).start()
        return kernel

    def prepare(self, limits: Limits, policy: SandboxPolicy, preload: tuple[str, ...] = ()) -> None:
        """Start the next kernel in the background.

        Called once a submission is graded, so the start-up's imports overlap the
        recording of the result rather than the timed checks of a submission.
        """
        with self._lock:
            if self._next is None:
                start = GradingKernel(limits, policy, preload).start
                self._next = ((limits, policy, preload), self._starter.submit(start))

    def close(self) -> None:
        with self._lock:
            pending, self._next = self._next, None
        if pending is not None:
            _discard(pending[1])
        self._starter.shutdown(wait=False)


def _discard(future: Future) -> None:
    try:
        future.result().close()
    except Exception:  # noqa: BLE001 - a kernel that failed to start has nothing to close
        pass


def _reply_error(reply: dict | None) -> str:
    if reply is None:
        return "no answer within the time limit"
    content = reply["content"]
    return f"{content.get('ename', 'error')}: {content.get('evalue', '')}"
