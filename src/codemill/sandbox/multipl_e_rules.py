"""How MultiPL-E's own evaluators decide a verdict, language by language, applied to a sandbox :class:`Result`.

The sandbox's statuses (``passed`` when the program exits 0, ...) are one rule for every language; MultiPL-E's
evaluators (nuprl/MultiPL-E ``evaluation/src/eval_*.py``) each have their own, and a score is only MultiPL-E's
if its rules decide it. The ones that differ from "exit 0":

* C# (``eval_cs.py``): the exit code is ignored; the program fails when its stderr holds
  ``System.Diagnostics.DefaultTraceListener.Fail`` (a failed ``Debug.Assert``) or ``Unhandled Exception``.
* Go (``eval_go.py``): ``go test`` passes unless its stdout says ``FAIL`` (it does whenever a test or the test
  binary fails); a build failure is a ``SyntaxError``.
* Perl (``eval_pl.py``): ``ERROR`` anywhere in stdout or stderr fails the program, whatever its exit code.
* Scala (``eval_scala.py``): exit 0 *and an empty stderr*.
* TypeScript (``eval_ts.py``): ``tsc --target esnext`` must accept the program (a type error is a
  ``SyntaxError``), then node runs the JavaScript.

Each rule set names, per MultiPL-E language, the sandbox entry that runs the evaluator's own commands, the
evaluator's timeout (used as the sandbox's CPU-time limit: wall time on two shared cores is not the wall time
of MultiPL-E's machine) and the judge:

* ``multipl-e`` (the default): nuprl/MultiPL-E's evaluators, as Qwen2.5-Coder's instruct evaluation runs them
  (``qwencoder-eval/instruct/multipl_e``: Mono's ``mcs`` for C#, as here, since Debian has no ``csc``).
* ``qwen-base``: Qwen2.5-Coder's base-model harness (``qwencoder-eval/base/benchmarks/multiple-eval``), whose
  per-sample verdicts the report's repository publishes; for the languages it scored: C# passes unless stderr
  holds ``Fail`` (a program that dies of an exception passes), JavaScript passes when it prints nothing at all,
  TypeScript is checked against ES2015's library, C# compiles without ``System.Numerics``.
* ``sandbox``: codemill's own statuses with its default entries (esbuild TypeScript without type checks,
  ``g++ -O1``, Rust 2021, PHP with ``assert()`` on): a program passes when the sandbox says ``passed``.

Known differences that no flag removes: D is compiled by gdc, not dmd (``rdmd``); Lua is 5.4, not 5.3; C# is
Mono's ``mcs``, as in Qwen's evaluation, not the Roslyn ``csc`` of nuprl's image.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from codemill.sandbox.schema import LimitsOverride, Result

__all__ = ["DEFAULT_RULES", "RULE_SETS", "Evaluator", "RuleSet", "Verdict", "evaluator"]

RuleSet = Literal["multipl-e", "qwen-base", "sandbox"]
RULE_SETS: tuple[str, ...] = RuleSet.__args__  # type: ignore[attr-defined]
DEFAULT_RULES: RuleSet = "multipl-e"


@dataclass(frozen=True)
class Verdict:
    """An evaluator's word on one program: ``OK`` passes; anything else is why it did not."""

    status: str
    """The evaluator's own vocabulary: OK, SyntaxError, Exception, Timeout, AssertionError, ReferenceError;
    ``SandboxError`` when the sandbox could not run the program at all (never a verdict on the program)."""
    why: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "OK"


OK = Verdict("OK")
Judge = Callable[[Result], Verdict]


@dataclass(frozen=True)
class Evaluator:
    """One harness's way of running and judging one MultiPL-E language."""

    language: str
    """The sandbox entry that runs the evaluator's own compile and run commands."""
    judge: Judge
    timeout: float
    """The evaluator's timeout of the run, in seconds."""
    source: str
    """Where the rule comes from, for the reader who wants to check it."""

    def limits(self) -> LimitsOverride:
        """The run phase's limits: the evaluator's timeout as CPU time, and wall time to spare for a busy machine."""
        return LimitsOverride(cpu_seconds=self.timeout, wall_seconds=max(20.0, 3 * self.timeout))


def _stopped(result: Result) -> Verdict | None:
    """What every evaluator says before it looks at the program's output, or None when the run ended normally."""
    if result.status == "sandbox_error":
        return Verdict("SandboxError", result.message)
    if result.phase == "compile":
        if result.status == "timeout":
            return Verdict("Timeout", "the compiler ran out of time")
        return Verdict("SyntaxError", f"the compiler rejected the program ({result.message})")
    killed = result.run.killed_by if result.run else None
    if killed in ("cpu_time", "wall_time"):
        return Verdict("Timeout", f"{killed.replace('_', ' ')} limit")
    if killed is not None:
        return Verdict("Exception", f"{killed.replace('_', ' ')} limit exceeded")
    return None


def _exit_code(result: Result) -> str:
    return f"exit {result.exit_code}" if result.signal is None else f"signal {result.signal}"


def exit_zero(*named: tuple[str, str, str]) -> Judge:
    """OK when the program exits 0; otherwise the first ``(status, stream, text)`` whose text is in the stream
    (``stdout``, ``stderr`` or ``output`` for both) names the failure, else ``Exception``."""

    def judge(result: Result) -> Verdict:
        stopped = _stopped(result)
        if stopped is not None:
            return stopped
        if result.exit_code == 0 and result.signal is None:
            return OK
        for status, stream, text in named:
            if text in _stream(result, stream):
                return Verdict(status, f"{text!r} in {stream} ({_exit_code(result)})")
        return Verdict("Exception", _exit_code(result))

    return judge


def _stream(result: Result, stream: str) -> str:
    return result.stdout + result.stderr if stream == "output" else getattr(result, stream)


def absent(stream: str, *markers: str, status: str = "Exception") -> Judge:
    """OK unless one of the markers is in the stream: the exit code is not looked at (MultiPL-E's C#, Perl...)."""

    def judge(result: Result) -> Verdict:
        stopped = _stopped(result)
        if stopped is not None:
            return stopped
        for marker in markers:
            if marker in _stream(result, stream):
                return Verdict(status, f"{marker!r} in {stream}")
        return OK

    return judge


def both(*judges: Judge) -> Judge:
    """OK when every judge says OK; otherwise the first one's verdict that does not."""

    def judge(result: Result) -> Verdict:
        for one in judges:
            verdict = one(result)
            if not verdict.passed:
                return verdict
        return OK

    return judge


def empty(stream: str) -> Judge:
    """OK only when the stream is empty (MultiPL-E's Scala looks at stderr, Qwen's base JavaScript at both)."""

    def judge(result: Result) -> Verdict:
        stopped = _stopped(result)
        if stopped is not None:
            return stopped
        text = _stream(result, stream)
        return OK if text == "" else Verdict("Exception", f"{stream} is not empty: {text.strip()[:200]!r}")

    return judge


def sandbox_status(result: Result) -> Verdict:
    """codemill's own rule: the sandbox's status."""
    return OK if result.status == "passed" else Verdict(result.status, result.message)


_NODE = (("AssertionError", "stderr", "ERR_ASSERTION"), ("SyntaxError", "stderr", "SyntaxError"))
_NODE += (("ReferenceError", "stderr", "ReferenceError"),)
_MPE = "nuprl/MultiPL-E evaluation/src/"
_CS_FAILURES = ("System.Diagnostics.DefaultTraceListener.Fail", "Unhandled Exception")


def _mpe(language: str, judge: Judge, timeout: float, evaluator: str) -> Evaluator:
    return Evaluator(language, judge, timeout, _MPE + evaluator)


MULTIPL_E: dict[str, Evaluator] = {
    "python": _mpe("python", exit_zero(("SyntaxError", "stderr", "SyntaxError")), 15, "eval_python.py"),
    "cpp": _mpe("cpp-O0", exit_zero(), 15, "eval_cpp.py: g++ -std=c++17"),
    "java": _mpe("java", exit_zero(), 15, "eval_java.py: javac -encoding UTF8, java -ea"),
    "php": _mpe("php-system-ini", exit_zero(("SyntaxError", "stdout", "PHP Parse error")), 15, "eval_php.py"),
    "ts": _mpe("typescript-tsc", exit_zero(*_NODE), 15, "eval_ts.py: tsc --target esnext, node"),
    "cs": _mpe("csharp", absent("stderr", *_CS_FAILURES), 5, "eval_cs.py: /d:DEBUG -r:System.Numerics.dll, mono"),
    "sh": _mpe("bash", exit_zero(("SyntaxError", "stderr", "syntax error")), 15, "eval_sh.py"),
    "js": _mpe("javascript", exit_zero(*_NODE), 5, "eval_javascript.py"),
    "go": _mpe("go-test", both(exit_zero(), absent("stdout", "FAIL")), 30, "eval_go.py: go test; FAIL in stdout fails"),
    "rs": _mpe("rust-2015", exit_zero(), 5, "eval_rust.py: rustc (default edition)"),
    "rb": _mpe("ruby", exit_zero(), 5, "eval_ruby.py"),
    "pl": _mpe("perl", both(exit_zero(), absent("output", "ERROR")), 15, "eval_pl.py: ERROR in the output fails"),
    "lua": _mpe("lua", exit_zero(), 15, "eval_lua.py"),
    "r": _mpe("r", exit_zero(("SyntaxError", "output", "unexpected")), 5, "eval_r.py"),
    "scala": _mpe("scala", both(exit_zero(), empty("stderr")), 15, "eval_scala.py: exit 0 and an empty stderr"),
    "d": _mpe("d", exit_zero(("SyntaxError", "stderr", "Error:")), 15, "eval_dlang.py: rdmd -unittest"),
}

_QWEN = "QwenLM/Qwen2.5-Coder qwencoder-eval/base/benchmarks/multiple-eval/human_eval/execution.py: "
QWEN_BASE: dict[str, Evaluator] = {
    "cpp": Evaluator("cpp-O0", exit_zero(), 10, _QWEN + "g++ -std=c++17, exit 0"),
    "cs": Evaluator("csharp-no-numerics", absent("stderr", "Fail"), 10, _QWEN + "mcs -d:DEBUG; 'Fail' not in stderr"),
    "java": Evaluator("java", exit_zero(), 10, _QWEN + "javac, java -ea, exit 0"),
    "js": Evaluator("javascript", empty("output"), 10, _QWEN + "node; nothing on stdout or stderr"),
    "php": Evaluator("php-system-ini", exit_zero(), 10, _QWEN + "php -f, exit 0"),
    "sh": Evaluator("bash", exit_zero(), 10, _QWEN + "bash, exit 0"),
    "ts": Evaluator("typescript-tsc-es2015", exit_zero(), 10, _QWEN + "tsc --target ES2015 --lib ES2015,DOM"),
}


def _sandbox(language: str) -> Evaluator:
    return Evaluator(language, sandbox_status, 10, "codemill.sandbox.runner's statuses")


SANDBOX: dict[str, Evaluator] = {
    dataset: _sandbox(language)
    for dataset, language in {
        "python": "python",
        "cpp": "cpp",
        "java": "java",
        "php": "php",
        "ts": "typescript",
        "cs": "csharp",
        "sh": "bash",
        "js": "javascript",
        "go": "go-test",
        "rs": "rust",
        "rb": "ruby",
        "pl": "perl",
        "lua": "lua",
        "r": "r",
        "scala": "scala",
        "d": "d",
    }.items()
}

EVALUATORS: Mapping[str, Mapping[str, Evaluator]] = {"multipl-e": MULTIPL_E, "qwen-base": QWEN_BASE, "sandbox": SANDBOX}


def evaluator(dataset: str, rules: str = DEFAULT_RULES) -> Evaluator:
    """The evaluator of MultiPL-E's language ``dataset`` under a rule set; a clear error when it has none."""
    if rules not in EVALUATORS:
        raise ValueError(f"unknown rule set {rules!r}; known: {', '.join(RULE_SETS)}")
    found = EVALUATORS[rules].get(dataset)
    if found is None:
        known = ", ".join(EVALUATORS[rules])
        raise KeyError(f"the {rules} rules have no evaluator for MultiPL-E's {dataset!r}; they have: {known}")
    return found
