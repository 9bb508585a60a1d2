"""The process that executes one notebook: ``python -m cs231n_lib.grading.nbval_runner``.

It runs pytest with nbval (``--nbval-lax``: a cell passes when it raises nothing) on a notebook
the grader wrote into a scratch folder, and reports each cell's result to the grader. The
grader sends its settings as JSON on stdin (read before any student code runs, so the kernel
cannot see them):

    notebook      the .ipynb to run (its folder is the kernel's working directory)
    results       file to append one signed JSON line per cell to
    key           HMAC key signing those lines (a kernel that writes into the file cannot
                  forge a passing cell without it)
    nonce         the marker of the lines a test prints to prove it completed
    cell_timeout  seconds per cell (nbval's --nbval-cell-timeout)
    memory_mb     address-space limit of this process, inherited by the kernel (0: none)
    file_mb       largest file the notebook may write (also caps what it prints to fd 1)
    max_restarts  kernel restarts allowed after the kernel died
    kernel_cwd    the kernel's working directory (never the notebook's folder: the notebook
                  holds the hidden tests)
    sandbox       argv prefix that starts the kernel inside bubblewrap (sandbox.py), or null
    ipc           folder for the kernel's unix sockets when sandboxed (it has no network)

What it adds to nbval:

* its own kernel (``WatchedKernel``): started from a kernel spec of its own, ``sandbox`` +
  this environment's ipykernel, in ``kernel_cwd``, over unix sockets when sandboxed, with
  interrupts sent as messages (a signal to bwrap would not reach the kernel);

and, as a pytest plugin (``Bridge``):

* a dead kernel is noticed within a second (nbval alone waits for the whole cell timeout);
* before the next cell runs, the kernel is restarted and the cells that had passed are run
  again quietly, so the rest of the notebook can still be scored;
* per cell: passed or not, the error name and message, the completion tokens printed.
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import sys
import time
from queue import Empty

import pytest

KERNEL_POLL_SECONDS = 0.5


def sign(key: str, payload: str) -> str:
    return hmac.new(key.encode(), payload.encode(), hashlib.sha256).hexdigest()


class KernelDied(RuntimeError):
    """The kernel process exited while a cell was running (os._exit, abort, segfault, killed
    for memory)."""


_kernels = itertools.count(1)


def start_kernel(config: dict, startup_timeout: float):
    """A started kernel's manager and client, as nbval's ``start_new_kernel`` returns them."""
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import KernelManager

    prefix = config.get("sandbox") or []
    spec = KernelSpec(argv=prefix + ipykernel.kernelspec.get_kernel_dict()["argv"], language="python",
                      display_name="cs231n grading kernel", env={},
                      interrupt_mode="message" if prefix else "signal")

    class Specs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return spec

    number = next(_kernels)       # a restarted kernel gets new sockets
    if config.get("ipc"):
        km = KernelManager(kernel_name="cs231n-grading", kernel_spec_manager=Specs(), transport="ipc",
                           ip=os.path.join(config["ipc"], f"k{number}"))
        km.connection_file = os.path.join(config["ipc"], f"kernel-{number}.json")
    else:
        km = KernelManager(kernel_name="cs231n-grading", kernel_spec_manager=Specs())
        # In the run's private folder (jupyter_client would make it in TMPDIR, and leave it
        # there if this process is killed).
        runtime = os.environ.get("JUPYTER_RUNTIME_DIR") or os.path.dirname(config["results"])
        os.makedirs(runtime, exist_ok=True)
        km.connection_file = os.path.join(runtime, f"kernel-{number}.json")
    km.start_kernel(stderr=open(os.devnull, "w"), cwd=config["kernel_cwd"])
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=startup_timeout)
    except RuntimeError:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        raise
    return km, kc


def _watched_kernel_class(config: dict):
    """nbval's RunningKernel, started by ``start_kernel``; a reply is awaited in short slices so
    that a dead kernel is noticed at once instead of after the cell timeout."""
    from nbval.kernel import RunningKernel

    class WatchedKernel(RunningKernel):
        def __init__(self, kernel_name, cwd=None, startup_timeout=60):
            # nbval would start the kernel in the notebook's folder, from the environment's
            # kernel spec; ``kernel_name`` and ``cwd`` are ignored.
            self.km, self.kc = start_kernel(config, startup_timeout)
            self._ensure_iopub_up()

        def await_reply(self, msg_id, timeout=None):
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                step = KERNEL_POLL_SECONDS if deadline is None else \
                    max(0.0, min(KERNEL_POLL_SECONDS, deadline - time.monotonic()))
                try:
                    msg = self.get_message(stream="shell", timeout=step)
                except Empty:
                    if not self.is_alive():
                        raise KernelDied("the kernel died while running this cell") from None
                    if deadline is not None and time.monotonic() >= deadline:
                        raise
                    continue
                if msg["parent_header"].get("msg_id") == msg_id:
                    if msg["content"]["status"] == "aborted":
                        raise RuntimeError("Kernel aborted execution request")
                    return

    return WatchedKernel


class Bridge:
    """The pytest plugin: restarts dead kernels and reports each cell to the grader."""

    def __init__(self, config: dict, kernel_class):
        self.config = config
        self.kernel_class = kernel_class
        self.out = open(config["results"], "a", encoding="utf-8")
        self.prefix = "\x1ecs231n:" + config["nonce"] + ":"
        self.passed_sources: list[str] = []     # replayed after a restart
        self.restarts = 0

    def _write(self, record: dict) -> None:
        payload = json.dumps(record, sort_keys=True)
        self.out.write(sign(self.config["key"], payload) + " " + payload + "\n")
        self.out.flush()

    # -- restart -------------------------------------------------------------------------
    @pytest.hookimpl(trylast=True)
    def pytest_runtest_setup(self, item):
        parent = item.parent
        kernel = getattr(parent, "kernel", None)
        if kernel is None or kernel.is_alive():
            return
        if self.restarts >= self.config["max_restarts"]:
            raise KernelDied(f"the kernel died {self.restarts + 1} times; later cells are not run")
        self.restarts += 1
        from nbval.kernel import CURRENT_ENV_KERNEL_NAME

        parent.kernel = self.kernel_class(CURRENT_ENV_KERNEL_NAME, startup_timeout=60)
        for source in self.passed_sources:  # bring back the state the dead kernel had
            try:
                msg_id = parent.kernel.execute_cell_input(source, allow_stdin=False)
                parent.kernel.await_reply(msg_id, timeout=self.config["cell_timeout"])
                parent.kernel.await_idle(msg_id, 5)
            except (Empty, KernelDied, RuntimeError):
                break

    # -- report ----------------------------------------------------------------------------
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = (yield).get_result()
        if call.when == "call" or (call.when == "setup" and report.failed):
            self.record(item, call, report)

    def record(self, item, call, report) -> None:
        outputs = getattr(item, "test_outputs", None) or []
        stdout = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream"
                         and o.get("name") == "stdout")
        # split("\n"), not splitlines(): the latter also splits at the token's \x1e.
        tokens = [line[len(self.prefix):] for line in stdout.split("\n") if line.startswith(self.prefix)]
        errors = [o for o in outputs if o.get("output_type") == "error"]
        ename = errors[-1].get("ename", "") if errors else ""
        evalue = errors[-1].get("evalue", "") if errors else ""
        message = str(call.excinfo.value) if call.excinfo is not None else ""
        if call.excinfo is not None and not ename:
            ename = call.excinfo.type.__name__
            evalue = message.splitlines()[0] if message else ""
        fault = None
        kernel = getattr(item.parent, "kernel", None)
        if call.when == "setup":
            # The first cell's set-up starts the kernel; a later one restarts a dead kernel.
            fault = "start" if item.cell_num == 0 else "died"
        elif message.startswith("Timeout of") and "waiting for output" not in message:
            fault = "timeout"
        elif call.excinfo is not None and (call.excinfo.errisinstance(KernelDied)
                                           or kernel is None or not kernel.is_alive()):
            fault = "died"
        elif ename.endswith("MemoryError"):   # NumPy raises a subclass, _ArrayMemoryError
            fault = "memory"
        passed = call.when == "call" and report.passed
        if passed:
            self.passed_sources.append(item.cell.source)
        self._write({"cell": item.cell_num, "passed": passed, "fault": fault, "ename": ename,
                     "evalue": evalue[:2000], "tokens": tokens,
                     "seconds": round(call.stop - call.start, 4)})

    def pytest_sessionfinish(self, session, exitstatus):
        self._write({"finished": True, "restarts": self.restarts})
        self.out.close()


def set_limits(memory_mb: int, file_mb: int) -> None:
    """Limits of this process, inherited by the kernel nbval starts from it."""
    import resource

    if memory_mb:
        cap = memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    if file_mb:
        cap = file_mb * 2**20
        resource.setrlimit(resource.RLIMIT_FSIZE, (cap, cap))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an abort must not leave a core file


def die_with_parent() -> None:
    """Linux: this process gets SIGKILL when the grader dies, even by SIGKILL (its kernel then
    follows: bwrap's --die-with-parent, or ipykernel's watch on its parent)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main() -> int:
    die_with_parent()
    config = json.loads(sys.stdin.read())
    # jsonschema (imported by nbformat, imported by nbval) builds the grammar of the optional
    # rfc3987_syntax package at import, about 1.5 s; nbformat never validates IRIs, so this
    # process does without it.
    sys.modules.setdefault("rfc3987_syntax", None)
    import nbval.plugin

    kernel_class = _watched_kernel_class(config)
    nbval.plugin.RunningKernel = kernel_class
    set_limits(config["memory_mb"], config["file_mb"])
    bridge = Bridge(config, kernel_class)
    folder = os.path.dirname(os.path.abspath(config["notebook"]))
    args = [config["notebook"], "-p", "nbval.plugin", "--nbval-lax", "--nbval-current-env",
            f"--nbval-cell-timeout={config['cell_timeout']}", "--noconftest", "-p", "no:cacheprovider",
            "-c", config["ini"], "--rootdir", folder, "-s", "-q", "--tb=line", "-W", "ignore"]
    return int(pytest.main(args, plugins=[bridge]))


if __name__ == "__main__":
    sys.exit(main())
