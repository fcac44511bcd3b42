"""A kernel fork server: imports a notebook's modules once, then forks a fresh kernel for
each run.

Run by nbsteps.forked_kernels as `PYTHON kernel_forkserver.py` with the kernel's own
interpreter (the kernelspec's), so it imports nothing of nbsteps: only the standard library
and ipykernel. It speaks JSON lines: on stdin, first what to preload, then one request per
kernel (its ipykernel arguments, folder and environment); on its original stdout, `ready`
once the preload is done and then each kernel's process id.

A forked kernel is a new process with an empty namespace and a fresh IPython shell, like a
kernel started from scratch; it only finds the preloaded modules already in `sys.modules`
(the zygote pattern of Android and of multiprocessing's forkserver). What a fresh process
would get anew, it gets anew: its own session (the runner signals its process group), its
own random state (Python's `random` reseeds itself at fork; NumPy's global generator is
reseeded here), default signal handlers.
"""

import json
import os
import signal
import sys
import traceback

INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
# What every kernel imports as it starts (its shell, debugger, history): loaded once here too.
KERNEL_MODULES = ("ipykernel.ipkernel", "ipykernel.debugger", "IPython.core.completerlib",
                  "IPython.core.debugger", "IPython.extensions.storemagic", "tornado.queues")


def preload(names, warm_up):
    """Import `names` and run `warm_up`: here once for every kernel, or in one started kernel
    (nbsteps.kernels runs this function's source there). Self-contained for that reason. A
    module that fails to import is left for the notebook to report; an error in `warm_up`
    is raised. Binds no name the notebook could see."""
    import contextlib
    import importlib

    for name in names:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    if warm_up:
        exec(compile(warm_up, "<nbsteps warm-up>", "exec"), {"__name__": "_nbsteps_warm_up"})


def reseed_random_state() -> None:
    """Global generators seeded when their module was imported would otherwise repeat the
    same numbers in every kernel forked from here."""
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()


def become_kernel(request: dict, channels: list[int]) -> None:
    """In the forked child: leave the server's plumbing, then run ipykernel as its launcher
    would. Never returns into the server's loop."""
    code = 1
    try:
        niceness = read_session_niceness()
        os.setsid()  # its own process group, as jupyter_client starts kernels
        # With autogroup scheduling a new session starts at niceness 0: the kernel keeps its
        # server's, which is its runner's (nbsteps.priority). The runner lowers it too, but
        # may do so before this line, when it would still reach the server's session.
        if niceness > 0:
            set_session_niceness(niceness)
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        # Off the server's pipes; stdin reads nothing, as a kernel's stdin does.
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        for fd in channels:
            if fd != 0:
                os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ["JPY_PARENT_PID"] = str(os.getppid())
        os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
        # ipykernel's launcher takes the folder off the path; the shell puts it back as ''.
        del sys.path[0]
        reseed_random_state()
        from ipykernel import kernelapp

        # The kernel leaves with its parent (this server), which leaves with the runner.
        parent = f"--IPKernelApp.parent_handle={os.getppid()}"
        kernelapp.launch_new_instance(argv=[*request["argv"], parent])
        code = 0
    except SystemExit as leaving:
        code = leaving.code if isinstance(leaving.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


def read_session_niceness(pid: int | str = "self") -> int:
    """The niceness of the session `pid` is in, under autogroup scheduling
    (/proc/<pid>/autogroup: `/autogroup-57 nice 10`); 0 without it (or without the process).
    nbsteps.priority reads it through here too."""
    try:
        with open(f"/proc/{pid}/autogroup") as autogroup:
            return int(autogroup.read().split()[-1])
    except (OSError, ValueError, IndexError):
        return 0


def set_session_niceness(niceness: int, pid: int | str = "self") -> None:
    """Raise the niceness of the session `pid` leads (no privilege needed to raise it);
    nothing where there is no autogroup scheduling, or the process is another user's."""
    try:
        with open(f"/proc/{pid}/autogroup", "w") as autogroup:
            autogroup.write(str(niceness))
    except OSError:
        pass


def started_threads() -> str:
    """Why forking is not safe here, or "": a child gets only the forking thread, so a
    library whose import started Python threads (a pool, a connection's reader) would be
    left half-working in every kernel."""
    import threading

    others = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
    if not others:
        return ""
    return (f"the notebook's imports started threads ({', '.join(sorted(others))}), which a "
            "forked kernel would not have; write `fork: false` for the step")


def serve(requests, answers) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped as they end
    channels = [requests.fileno(), answers.fileno()]
    for line in requests:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            become_kernel(request, channels)
        answers.write(json.dumps({"pid": pid}) + "\n")


def main() -> None:
    # The protocol keeps the original stdout; anything else printed goes to stderr.
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    # As `python -m ipykernel_launcher` run in the notebook's folder: that folder is on the
    # path (for the notebook's own modules), this script's folder is not.
    sys.path[0] = os.getcwd()
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    setup = json.loads(sys.stdin.readline() or "{}")
    try:
        preload(setup.get("imports", []), setup.get("warm_up", ""))
        import ipykernel.kernelapp  # noqa: F401  (loaded once, for every kernel)

        # debugpy's import warns about frozen modules on every load; the kernel does not
        # debug (the kernelspec ipykernel installs sets the same variable).
        os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
        preload(list(KERNEL_MODULES), "")
    except BaseException as error:
        answers.write(json.dumps({"error": f"{type(error).__name__}: {error}"}) + "\n")
        return
    unsafe = started_threads()
    if unsafe:
        answers.write(json.dumps({"error": unsafe}) + "\n")
        return
    answers.write(json.dumps({"ready": True}) + "\n")
    serve(sys.stdin, answers)
    # Its runner is done with it. Nothing is left to flush, and an ordinary exit would tear
    # down every preloaded module first (about 0.4 s of the runner's wait for pandas,
    # scikit-learn and matplotlib).
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
