"""MBPP and MBPP+ (EvalPlus's MbppPlus v0.1.0, 399 problems), scored the EvalPlus way.

Expected outputs are not the dataset's assertions: they come from running the canonical solution on every
input (``base_input`` for ``mbpp``, ``base_input + plus_input`` for ``mbpp+``), once, in the sandbox, and are
cached on disk. A sample is exec'd in a fresh namespace (stdout swallowed), its entry point called on each
input with a per-input time limit of ``max(1 s, 4 × the canonical solution's time)``, and each output compared
as ``evalplus.eval.unsafe_execute`` does: ``==``, the special oracles of ``are_equivalent`` (Mbpp/164) and
``sum_div`` (Mbpp/295), ``is not None`` for the three regex tasks, and, when that fails and ``atol`` is set (or
the expected value is a float or a list of floats, atol 1e-6), ``numpy.testing.assert_allclose``'s rule
(rtol 1e-7) re-implemented without numpy (the sandbox's Python has none). Inputs are deserialised with
EvalPlus's ``mbpp_deserialize_inputs`` (tuples, sets, complex numbers where the dataset stores lists).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pickle
import zlib
from importlib import resources
from pathlib import Path
from typing import Any

from codemill.evaluate.base import Task, python_exec_request
from codemill.evaluate.humaneval import EVALPLUS_STOP, EvalPlusChat
from codemill.sandbox import marker as completion
from codemill.sandbox.schema import LimitsOverride, Request

__all__ = ["MIN_TIME_LIMIT", "TIME_LIMIT_FACTOR", "Mbpp", "MbppPlus", "deserialize_inputs"]

DATA = resources.files("codemill") / "data" / "benchmarks" / "MbppPlus-v0.1.0.jsonl.gz"
MIN_TIME_LIMIT = 1.0
TIME_LIMIT_FACTOR = 4.0
OUTPUT_NOT_NONE = ("check_str", "text_match_three", "text_starta_endb")
GT_LIMITS = LimitsOverride(cpu_seconds=120, wall_seconds=240, memory_mb=4096, output_bytes=64 << 20)

_TUPLES = {2, 116, 132, 143, 222, 261, 273, 394, 399, 421, 424, 429, 470, 560, 579, 596, 616, 630, 726, 740, 744, 809}
_NESTED = {63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780}
_FIRST_NESTED = {75, 413, 444, 753}
_FIRST_TUPLE = {250, 405, 446, 617, 720, 763, 808}


def _all_tuples(value: Any) -> Any:
    return tuple(_all_tuples(item) for item in value) if isinstance(value, list) else value


def deserialize_inputs(task_id: str, inputs: list) -> list:
    """EvalPlus's ``mbpp_deserialize_inputs``: the Python values the dataset stores as JSON lists."""
    number = int(task_id.split("/")[-1])
    if number in _TUPLES:
        return [[tuple(lst) for lst in inp] for inp in inputs]
    if number in _NESTED:
        return [[[tuple(lst) for lst in lst_lst] for lst_lst in inp] for inp in inputs]
    if number in _FIRST_NESTED:
        return [[[tuple(lst) for lst in inp[0]], inp[1]] for inp in inputs]
    if number in (106, 750):
        return [[inp[0], tuple(inp[1])] for inp in inputs]
    if number == 115:
        return [[[set(item) if isinstance(item, list) and len(item) else {} for item in inp[0]]] for inp in inputs]
    if number == 124:
        return [(float(inp[0]), complex(inp[1])) for inp in inputs]
    if number in _FIRST_TUPLE:
        return [[tuple(inp[0]), inp[1]] for inp in inputs]
    if number in (259, 401, 445):
        nested = [[[tuple(lst) for lst in lst_lst] for lst_lst in inp] for inp in inputs]
        return [[tuple(lst) for lst in inp] for inp in nested]
    if number == 278:
        first = [[[tuple(item) if isinstance(item, list) else item for item in inp[0]]] for inp in inputs]
        return [[tuple(lst) for lst in inp] for inp in first]
    if number == 307:
        return [[tuple(inp[0]), inp[1], inp[2]] for inp in inputs]
    if number == 722:
        return [[{key: tuple(value) for key, value in inp[0].items()}, *inp[1:]] for inp in inputs]
    if number == 252:
        return [[complex(inp[0])] for inp in inputs]
    if number in (580, 615, 791):
        return [_all_tuples(inp) for inp in inputs]
    return inputs


# Runs inside the sandbox. GROUND: the canonical solution's outputs and times. CHECK: a sample against them.
HARNESS = r"""
import os, sys
if os.environ.get("PYTHONHASHSEED") != "0" or sys.flags.ignore_environment:
    # One hash seed for the ground truth and every sample: set orders (Mbpp/2's tuple(set(...))) must agree,
    # as they do in EvalPlus, whose checking processes are forked from the one that computed the ground truth.
    _env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONHASHSEED": "0", "LANG": "C.UTF-8"}
    os.execve(sys.executable, [sys.executable, "-s", "-B", sys.argv[0]], _env)
import base64, contextlib, copy, io, math, pickle, signal, sys, time, zlib
_d = pickle.loads(zlib.decompress(base64.b64decode(open("data.b64").read())))
_code = open("program.py", encoding="utf-8").read()
_ns = {"__builtins__": __builtins__}

class _Timeout(BaseException):
    pass

def _alarm(signum, frame):
    raise _Timeout()

signal.signal(signal.SIGALRM, _alarm)
_sink = io.StringIO()

def _short(value):
    text = repr(value)
    return text if len(text) < 300 else text[:300] + "..."

if _d["mode"] == "ground":
    exec(compile(_code, "program.py", "exec"), _ns)
    _fn = _ns[_d["entry_point"]]
    _outs, _times = [], []
    for _inp in _d["inputs"]:
        _inp = copy.deepcopy(_inp)
        _start = time.perf_counter()
        _out = _fn(*_inp)
        _times.append(time.perf_counter() - _start)
        _outs.append(_out is not None if _d["entry_point"] in _d["not_none"] else _out)
    sys.stdout.write(base64.b64encode(zlib.compress(pickle.dumps((_outs, _times)), 6)).decode())
    sys.exit(0)

def _close(out, exp, atol, rtol=1e-07):
    if isinstance(exp, (list, tuple)) or isinstance(out, (list, tuple)):
        if not isinstance(out, (list, tuple)) or not isinstance(exp, (list, tuple)) or len(out) != len(exp):
            return False
        return all(_close(o, e, atol, rtol) for o, e in zip(out, exp))
    if not isinstance(out, (int, float, complex)) or not isinstance(exp, (int, float, complex)):
        return out == exp
    if isinstance(out, float) and isinstance(exp, float) and math.isnan(out) and math.isnan(exp):
        return True
    if out == exp:
        return True
    return abs(out - exp) <= atol + rtol * abs(exp)

def _is_floats(x):
    if isinstance(x, float):
        return True
    if isinstance(x, (list, tuple)):
        return all(isinstance(i, float) for i in x)
    return False

def _oracle(state, out, exp, good):
    # EvalPlus's stateful oracles: right so far, or the constant answer on every input so far.
    if state["right"] and out != exp:
        state["right"] = False
    if state["constant"] and out != good:
        state["constant"] = False
    return state["right"] or state["constant"]

def _fail(message):
    sys.__stderr__.write("AssertionError: " + message + "\n")
    sys.exit(1)

_entry, _atol = _d["entry_point"], _d["atol"]
_state = {"right": True, "constant": True}
try:
    with contextlib.redirect_stdout(_sink), contextlib.redirect_stderr(_sink):
        exec(compile(_code, "program.py", "exec"), _ns)
except BaseException as _error:
    _fail("the program does not run: " + type(_error).__name__ + ": " + str(_error)[:300])
if _entry not in _ns:
    _fail("the program defines no " + _entry)
_fn = _ns[_entry]
for _i, (_inp, _exp, _limit) in enumerate(zip(_d["inputs"], _d["expected"], _d["limits"])):
    _where = "input %d (%s)" % (_i, "base" if _i < _d["n_base"] else "plus")
    try:
        signal.setitimer(signal.ITIMER_REAL, _limit)
        with contextlib.redirect_stdout(_sink), contextlib.redirect_stderr(_sink):
            _out = _fn(*_inp)
        signal.setitimer(signal.ITIMER_REAL, 0)
    except _Timeout:
        _fail("%s: timed out after %.2f s" % (_where, _limit))
    except BaseException as _error:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _fail("%s: raised %s: %s" % (_where, type(_error).__name__, str(_error)[:300]))
    _sink.seek(0)
    _sink.truncate()
    try:
        if _entry in _d["not_none"]:
            _match = _out == _exp if isinstance(_out, bool) else _exp == (_out is not None)
        else:
            _match = _out == _exp
        if _entry == "are_equivalent":
            _match = _oracle(_state, _out, _exp, True)
        elif _entry == "sum_div":
            _match = _oracle(_state, _out, _exp, 0)
        _tol = 1e-6 if _atol == 0 and _is_floats(_exp) else _atol
        _ok = _close(_out, _exp, _tol) if (not _match and _tol != 0) else bool(_match)
    except BaseException as _error:
        _ok = False
    if not _ok:
        _fail("%s: expected %s, got %s" % (_where, _short(_exp), _short(_out)))
sys.__stdout__.write("\n" + _d["marker"] + "\n")  # every input checked: an exit 0 before this is no pass
sys.__stdout__.flush()
"""


def _cache_dir() -> Path:
    root = os.environ.get("CODEMILL_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "codemill")
    return Path(root) / "evaluate"


class Mbpp(EvalPlusChat):
    """MBPP scored on EvalPlus's base inputs (``mbpp``); :class:`MbppPlus` adds the plus inputs."""

    key = "mbpp"
    plus = False
    stop_words = (*EVALPLUS_STOP, '\n"""', "\nassert")
    reference_kind = "solution"

    def __init__(self, data: Path | None = None) -> None:
        super().__init__(data)
        self._expected: dict[str, bytes] = {}

    def load(self) -> list[Task]:
        tasks = []
        for row in self.rows(DATA):
            plus = json.loads(row["plus_input"]) if isinstance(row["plus_input"], str) else row["plus_input"]
            base = json.loads(row["base_input"]) if isinstance(row["base_input"], str) else row["base_input"]
            data = {
                "canonical": row["canonical_solution"],
                "base_input": deserialize_inputs(row["task_id"], base),
                "plus_input": deserialize_inputs(row["task_id"], plus),
                "atol": float(row["atol"] or 0),
            }
            tasks.append(Task(row["task_id"], row["prompt"], row["entry_point"], data))
        return tasks

    def prompt(self, task: Task) -> str:
        return task.prompt.strip() + "\n"

    def canonical(self, task: Task) -> str:
        return str(task.data["canonical"])

    def _inputs(self, task: Task) -> list:
        """The inputs scored: base inputs, and for MBPP+ the plus inputs after them."""
        plus = list(task.data["plus_input"]) if self.plus else []
        return list(task.data["base_input"]) + plus

    def _payload(self, task: Task, mode: str, **extra: Any) -> str:
        data = {"mode": mode, "entry_point": task.entry_point, "not_none": OUTPUT_NOT_NONE, **extra}
        return base64.b64encode(zlib.compress(pickle.dumps(data), 6)).decode()

    def _cache(self) -> Path:
        digest = hashlib.sha256(DATA.read_bytes() + HARNESS.encode()).hexdigest()[:16]
        return _cache_dir() / f"mbppplus-v0.1.0-{'plus' if self.plus else 'base'}-{digest}.pkl"

    def prepare(self, task_ids: list[str]) -> None:
        """Expected outputs and times of the canonical solutions, computed once in the sandbox and cached."""
        from codemill.sandbox.pool import run_many

        tasks = self.tasks()
        cache = self._cache()
        stored: dict[str, bytes] = pickle.loads(cache.read_bytes()) if cache.exists() else {}
        missing = [t for t in dict.fromkeys(task_ids) if t not in stored]
        if missing:
            requests = [
                python_exec_request(
                    self.canonical(tasks[t]),
                    f"ground/{t}",
                    GT_LIMITS,
                    {"data.b64": self._payload(tasks[t], "ground", inputs=self._inputs(tasks[t]))},
                    main=HARNESS,
                )
                for t in missing
            ]
            results = run_many(requests)
            broken = [f"{r.id}: {r.status} {r.message} {r.stderr[-500:]}" for r in results if r.status != "passed"]
            if broken:
                raise RuntimeError("MBPP+ canonical solutions failed to run:\n" + "\n".join(broken[:5]))
            for task_id, result in zip(missing, results, strict=True):
                stored[task_id] = base64.b64decode(result.stdout)  # zlib-compressed pickle of (outputs, times)
            cache.parent.mkdir(parents=True, exist_ok=True)
            temporary = cache.with_suffix(f".tmp{os.getpid()}")
            temporary.write_bytes(pickle.dumps(stored))
            temporary.replace(cache)
        self._expected.update({t: stored[t] for t in task_ids})

    def request(self, task: Task, code: str, request_id: str) -> Request:
        if task.task_id not in self._expected:
            self.prepare([task.task_id])
        outputs, times = pickle.loads(zlib.decompress(self._expected[task.task_id]))
        limits = [max(MIN_TIME_LIMIT, TIME_LIMIT_FACTOR * t) for t in times]
        payload = self._payload(
            task,
            "check",
            inputs=self._inputs(task),
            expected=outputs,
            limits=limits,
            atol=task.data["atol"],
            n_base=len(task.data["base_input"]),
            marker=(marker := completion.new_marker()),
        )
        budget = sum(limits) + 10
        sandbox = LimitsOverride(cpu_seconds=min(600, budget), wall_seconds=min(900, 2 * budget), memory_mb=4096)
        request = python_exec_request(code, request_id, sandbox, {"data.b64": payload}, main=HARNESS)
        return request.model_copy(update={"completion_marker": marker})


class MbppPlus(Mbpp):
    key = "mbpp+"
    plus = True
