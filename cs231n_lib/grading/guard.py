"""Keeps the tests honest inside the kernel of a notebook being graded.

Test cells run in the same Python process as the student's code, so a student cell can
replace what the tests rely on: ``np.testing.assert_allclose = lambda *a, **k: None``, a
builtin shadowed by a global (``def all(x): return True``), an IPython input transformer that
blanks every later cell, a custom exception handler that swallows failures, a trace function.
This module defends the tests against such changes (deliberate or not) without a sandbox:

* ``install()`` runs in the first cell, before any student code: it seeds the random number
  generators, imports the modules the tests import, caps the text a notebook can print, and
  takes a snapshot of the builtins, of those modules (their functions and the code of their
  functions), of ``sys`` hooks and of the IPython machinery that runs cells.
* ``enter_test()`` runs in a cell of its own just before every test cell: it puts back
  everything in the snapshot and hides the student's globals that shadow builtins. Running in
  its own cell matters: a transformer installed by a student is removed *before* the test cell
  is transformed and run.
* ``leave_test()`` runs just after every test cell and gives the hidden globals back, so the
  student's later cells see their own variables again.

The grader also appends a completion token to each test (see ``grader.instrument``): a test
passes only if its last line ran, so a test silenced by any trick this module does not know
still fails. This is a defence against tampering by students who do not study the grader, not
a security boundary: code in the kernel can always reach the grader's own objects.

Only the standard library is imported here, so installing costs little beyond the imports the
tests need anyway.
"""
from __future__ import annotations

import builtins
import importlib
import random
import sys
import types

TOKEN_PREFIX = "\x1ecs231n:"   # begins every line the grader reads from a test's output
TRUNCATED = "\n[output truncated by the grader: this notebook printed more than {} characters]\n"

# Methods of the IPython shell and kernel objects that run a cell; a student could replace them
# on the instance.
_SHELL_METHODS = ("run_cell", "run_cell_async", "run_ast_nodes", "run_code", "transform_cell",
                  "transform_ast", "showtraceback", "_showtraceback", "showsyntaxerror",
                  "should_run_async", "ex", "ev", "ask_exit", "compile")
# The packages whose classes run a cell; their class dictionaries (methods patched on the class,
# not the instance) are in the snapshot too.
_MACHINERY = ("IPython", "ipykernel", "codeop")
_KERNEL_METHODS = ("do_execute", "execute_request", "run_cell")
_SHELL_LISTS = ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")


class _CappedStream:
    """A text stream that forwards at most ``limit`` characters to ``stream``, then one notice.

    Lines starting with TOKEN_PREFIX always pass: they are how tests report completion."""

    def __init__(self, stream, limit: int):
        self._stream, self._left, self._limit, self._noted = stream, limit, limit, False

    def write(self, text):
        if not isinstance(text, str) or text.startswith(TOKEN_PREFIX):
            return self._stream.write(text)
        if self._left > 0:
            part = text[: self._left]
            self._left -= len(part)
            self._stream.write(part)
        if self._left <= 0 and not self._noted:
            self._noted = True
            self._stream.write(TRUNCATED.format(self._limit))
        return len(text)

    def __getattr__(self, name):  # flush, fileno, isatty, encoding, ...
        return getattr(self._stream, name)


class _Snapshot:
    """What ``enter_test`` restores, recorded by ``install``."""

    def __init__(self, prefixes: set[str]):
        self.builtins = dict(vars(builtins))
        self.modules = {}
        self.code = {}
        for name, module in list(sys.modules.items()):
            if isinstance(module, types.ModuleType) and name.split(".")[0] in prefixes:
                attrs = {k: v for k, v in vars(module).items() if _guarded(v)}
                self.modules[name] = (module, attrs)
                for value in attrs.values():
                    if isinstance(value, types.FunctionType):
                        self.code[value] = (value.__code__, value.__defaults__, value.__kwdefaults__)
        for value in [v for attrs in (a for _, a in self.modules.values()) for v in attrs.values()]:
            # NumPy's dispatchers (np.allclose) run a Python function of their own.
            inner = getattr(value, "_implementation", None)
            if isinstance(inner, types.FunctionType):
                self.code[inner] = (inner.__code__, inner.__defaults__, inner.__kwdefaults__)
        self.sys = {name: getattr(sys, name) for name in ("excepthook", "displayhook", "stdout", "stderr",
                                                          "breakpointhook")}
        self.trace, self.profile = sys.gettrace(), sys.getprofile()
        self.shell = _ipython()
        if self.shell is not None:
            self.lists = {name: list(getattr(self.shell, name, [])) for name in _SHELL_LISTS}
            self.custom = (self.shell.custom_exceptions, getattr(self.shell, "CustomTB", None))
            self.events = {k: list(v) for k, v in self.shell.events.callbacks.items()}
            self.shell_dict = {k: self.shell.__dict__.get(k) for k in _SHELL_METHODS}
            kernel = getattr(self.shell, "kernel", None)
            self.kernel = kernel
            self.kernel_dict = {k: kernel.__dict__.get(k) for k in _KERNEL_METHODS} if kernel else {}
            self.handlers = dict(getattr(kernel, "shell_handlers", {}) or {})
            compiler = getattr(self.shell, "compile", None)
            self.flags = (compiler, getattr(compiler, "flags", None))
            self.classes = {}
            machinery = (self.shell, kernel, compiler, getattr(sys.stdout, "_stream", sys.stdout))
            self.types = [(obj, type(obj)) for obj in machinery if obj is not None]
            for obj in machinery:
                for cls in type(obj).__mro__ if obj is not None else ():
                    if cls.__module__.split(".")[0] in _MACHINERY and cls not in self.classes:
                        self.classes[cls] = dict(vars(cls))
                        for value in self.classes[cls].values():
                            value = getattr(value, "__func__", value)
                            if isinstance(value, types.FunctionType):
                                self.code[value] = (value.__code__, value.__defaults__, value.__kwdefaults__)

    def restore(self) -> list[str]:
        """Undo every change to the snapshot; return the names of what was changed."""
        changed = []
        for name, value in self.builtins.items():
            if not _same(vars(builtins).get(name, _MISSING), value):
                setattr(builtins, name, value)
                changed.append(f"builtins.{name}")
        for name, (module, attrs) in self.modules.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module
                changed.append(f"sys.modules[{name!r}]")
            current = vars(module)
            for key, value in attrs.items():
                if not _same(current.get(key, _MISSING), value):
                    current[key] = value
                    changed.append(f"{name}.{key}")
        for func, (code, defaults, kwdefaults) in self.code.items():
            if (func.__code__, func.__defaults__, func.__kwdefaults__) != (code, defaults, kwdefaults):
                func.__code__, func.__defaults__, func.__kwdefaults__ = code, defaults, kwdefaults
                changed.append(f"{func.__module__}.{func.__qualname__} (its code)")
        for name, value in self.sys.items():
            if not _same(getattr(sys, name), value):
                setattr(sys, name, value)
                changed.append(f"sys.{name}")
        if sys.gettrace() is not self.trace:
            sys.settrace(self.trace)
            changed.append("sys.settrace")
        if sys.getprofile() is not self.profile:
            sys.setprofile(self.profile)
            changed.append("sys.setprofile")
        if self.shell is not None:
            changed += self._restore_ipython()
        return changed

    def _restore_ipython(self) -> list[str]:
        changed = []
        shell = self.shell
        for name, saved in self.lists.items():
            if getattr(shell, name, saved) != saved:
                getattr(shell, name)[:] = saved
                changed.append(f"IPython {name}")
        if (shell.custom_exceptions, getattr(shell, "CustomTB", None)) != self.custom:
            shell.custom_exceptions, shell.CustomTB = self.custom
            changed.append("IPython custom exception handler")
        for event, saved in self.events.items():
            # Libraries register callbacks too (matplotlib's inline backend flushes figures
            # after each cell); only callbacks defined in the notebook are removed.
            current = shell.events.callbacks.get(event, [])
            kept = [cb for cb in current if cb in saved or not _defined_in_notebook(cb)]
            kept += [cb for cb in saved if cb not in kept]
            if kept != current:
                shell.events.callbacks[event] = kept
                changed.append(f"IPython {event} callbacks")
        for owner, saved, label in ((shell, self.shell_dict, "shell"), (self.kernel, self.kernel_dict, "kernel")):
            if owner is None:
                continue
            for name, value in saved.items():
                if not _same(owner.__dict__.get(name), value):
                    if value is None:
                        del owner.__dict__[name]
                    else:
                        owner.__dict__[name] = value
                    changed.append(f"IPython {label}.{name}")
        handlers = getattr(self.kernel, "shell_handlers", None)
        if isinstance(handlers, dict) and handlers != self.handlers:
            handlers.clear()
            handlers.update(self.handlers)
            changed.append("IPython kernel.shell_handlers")
        for obj, cls in self.types:
            if type(obj) is not cls:        # obj.__class__ = a subclass of the student's
                obj.__class__ = cls
                changed.append(f"the class of {cls.__module__}.{cls.__qualname__}")
        compiler, flags = self.flags
        if compiler is not None and getattr(compiler, "flags", flags) != flags:
            compiler.flags = flags
            changed.append("IPython compile flags")
        for cls, saved in self.classes.items():
            current = vars(cls)
            for name in set(current) | set(saved):
                if name in ("__dict__", "__weakref__", "__doc__") or _same(current.get(name, _MISSING),
                                                                            saved.get(name, _MISSING)):
                    continue
                if name in saved:
                    setattr(cls, name, saved[name])
                else:
                    delattr(cls, name)
                changed.append(f"{cls.__module__}.{cls.__qualname__}.{name}")
        return changed


_MISSING = object()


def _same(a, b) -> bool:
    """Identity, except that bound methods are equal when they bind the same function to the
    same object (IPython re-binds ``sys.excepthook`` and ``input`` for every cell)."""
    if a is b:
        return True
    return (isinstance(a, types.MethodType) and isinstance(b, types.MethodType)
            and a.__func__ is b.__func__ and a.__self__ is b.__self__)
_snapshot: _Snapshot | None = None


def _guarded(value) -> bool:
    """Module attributes worth protecting: code (functions, classes, NumPy's ufuncs and
    dispatchers: anything callable) and submodules, not data (a notebook may legitimately change
    a module's settings)."""
    return callable(value) or isinstance(value, types.ModuleType)


def _defined_in_notebook(obj) -> bool:
    """Was this function (or bound method) written in a notebook cell?"""
    func = getattr(obj, "__func__", obj)
    return getattr(func, "__module__", None) in (None, "__main__")


def _ipython():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _user_ns() -> dict:
    shell = _ipython()
    return shell.user_ns if shell is not None else vars(sys.modules["__main__"])


def _exit_ends_the_cell() -> None:
    raise SystemExit("exit() ends only this cell while the notebook is graded")


def install(modules=(), output_limit: int = 1_000_000, seed: int = 0) -> None:
    """Prepare the kernel for grading (the first cell the grader runs).

    Inputs:
    - modules: names of the modules the tests import; imported now so their pristine functions
      are in the snapshot (one that fails to import is skipped: its test will say why).
    - output_limit: characters each of stdout and stderr may print in the whole notebook.
    - seed: for ``random`` and NumPy's global generator, so that runs are repeatable.
    """
    global _snapshot
    random.seed(seed)
    for name in ("numpy", "numpy.testing", *modules):
        try:
            importlib.import_module(name)
        except Exception:
            pass
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(seed)
    sys.stdout = _CappedStream(sys.stdout, output_limit)
    sys.stderr = _CappedStream(sys.stderr, output_limit)
    shell = _ipython()
    if shell is not None:
        # IPython's exit() and quit() do not stop the kernel in their cell: the kernel shuts
        # down a moment after it, in whatever cell runs next, perhaps a test that then loses
        # its points. While grading they end their own cell, as sys.exit() does.
        shell.ask_exit = _exit_ends_the_cell
    # This package is guarded too: the grader's cells call it.
    prefixes = {name.split(".")[0] for name in ("numpy", "cs231n_lib", *modules)}
    _snapshot = _Snapshot(prefixes)


class _Test:
    """What one test's enter and leave cells share: the globals hidden or put back, and the
    library functions the student's code must not call while the test runs."""

    def __init__(self):
        self.hidden: dict = {}          # student globals shadowing builtins, hidden
        self.rebound: dict = {}         # name -> (the student's value or _MISSING, the pristine one)
        self.forbidden: dict = {}       # code object -> the function's dotted name
        self.called: set[str] = set()   # forbidden functions the student's code called
        self.test_file: str | None = None   # the test cell's file name (told by mark "start")
        self.library: tuple[str, ...] = ()


_test = _Test()


def _resolve(module: str, attr: str):
    value = importlib.import_module(module)
    for part in filter(None, attr.split(".")):
        value = getattr(value, part)
    return value


def _library_roots() -> tuple[str, ...]:
    import os
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.dirname(__file__))}
    return tuple(os.path.realpath(r) + os.sep for r in roots) + tuple(r + os.sep for r in roots) + ("<frozen",)


def _trace(frame, event, arg):
    """sys.settrace while a test runs: notes a forbidden function called, directly or through
    the library, from the student's code. It returns None: lines are not traced."""
    name = _test.forbidden.get(frame.f_code) if event == "call" else None
    if name is not None:
        caller = frame.f_back
        while caller is not None:
            filename = caller.f_code.co_filename
            if filename == _test.test_file:
                break
            if not filename.startswith(_test.library):
                _test.called.add(name)
                break
            caller = caller.f_back
    return None


def enter_test(nonce: str, bindings=(), forbidden=()) -> None:
    """Restore the snapshot before a test cell; report what had to be undone.

    Inputs: ``bindings``, (name, module, attribute) of the names the instructor's cells import
    (the test gets the library's own object under each name, whatever a student cell bound to
    it; the student's value comes back after the test); ``forbidden``, "module:attribute" of the
    library functions that solve the exercise, which the student's code must not call while the
    test runs (the test itself may)."""
    changed = _snapshot.restore() if _snapshot is not None else []
    namespace = _user_ns()
    current = namespace.get("__builtins__", builtins)
    if current is not builtins and current is not vars(builtins):
        namespace["__builtins__"] = builtins
        changed.append("__builtins__")
    _test.__init__()
    for name in list(namespace):
        if not name.startswith("_") and name in vars(builtins) and name not in ("exit", "quit", "get_ipython", "display"):
            _test.hidden[name] = namespace.pop(name)
    for name, module, attr in bindings:
        try:
            pristine = _resolve(module, attr)
        except Exception:
            continue      # the instructor's import fails here too: the test will say so
        value = namespace.get(name, _MISSING)
        if value is not pristine:
            _test.rebound[name] = (value, pristine)
            namespace[name] = pristine
            if value is not _MISSING and name not in _test.hidden:
                changed.append(f"{name} (imported by the notebook, rebound by a cell)")
    for dotted in forbidden:
        module, _, attr = dotted.partition(":")
        try:
            func = _resolve(module, attr)
        except Exception:
            continue
        code = getattr(func, "__code__", None)
        if code is not None:
            _test.forbidden[code] = f"{module}.{attr}"
    if changed:
        sys.stdout.write(f"{TOKEN_PREFIX}{nonce}:restored:{';'.join(sorted(set(changed)))}\n")
    if _test.forbidden:
        _test.library = _library_roots()
        sys.settrace(_trace)


def _token(nonce: str, text: str) -> None:
    """Print a line for the grader on the notebook's real stdout, even if the test redirected
    ``sys.stdout``."""
    stream = _snapshot.sys["stdout"] if _snapshot is not None else sys.stdout
    stream.write(f"{TOKEN_PREFIX}{nonce}:{text}\n")


def mark(nonce: str, text: str) -> None:
    """Print a completion token (instrumented tests call this) on the notebook's real stdout,
    even if the test redirected ``sys.stdout``. The first, "start", tells which file the test
    cell runs as (its frames are the test's own, not the student's)."""
    if text.endswith(":start"):
        _test.test_file = sys._getframe(1).f_code.co_filename
    _token(nonce, text)


def leave_test(nonce: str = "") -> None:
    """After a test cell: check that nothing the tests rely on changed *while* it ran (the
    student's code it called could have changed it), give back the student's globals, and
    forget the test's source.

    The check prints one token, ``left:`` followed by what was found (nothing, for an honest
    test): what changed (restored now), and ``reference:`` the forbidden functions the student's
    code called. The grader reads a missing token as tampering too. IPython keeps each cell's
    source in ``linecache`` (for tracebacks), where a later student cell could read the hidden
    checks; the grader's instrumented test holds ``nonce`` in every completion token, which is
    how its entry is found."""
    tracer = sys.gettrace()
    if _test.forbidden:
        sys.settrace(_snapshot.trace if _snapshot is not None else None)
    found = _snapshot.restore() if _snapshot is not None else []
    if _test.forbidden and tracer is not _trace:
        found.append("sys.settrace (the grader's tracer was removed)")
    found += [f"reference:{name}" for name in sorted(_test.called)]
    namespace = _user_ns()
    for name, (value, pristine) in _test.rebound.items():
        if namespace.get(name, _MISSING) is pristine:
            if value is _MISSING:
                namespace.pop(name, None)
            else:
                namespace[name] = value
    for name, value in _test.hidden.items():
        namespace.setdefault(name, value)
    _test.__init__()
    if nonce:
        import linecache

        for filename, entry in list(linecache.cache.items()):
            lines = entry[2] if len(entry) > 2 else ()
            if any(nonce in line for line in lines):
                del linecache.cache[filename]
        _token(nonce, f"left:{';'.join(found)}")
