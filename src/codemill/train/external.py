"""The ``command:`` training step: hand the SFT data to any trainer (LLaMA-Factory, Megatron, a user script).

The command runs in a shell with three variables set; it tells codemill where the new model is by writing a
``--model`` spec to ``$CODEMILL_OUTPUT_DIR/model.txt`` or as the last non-empty line of its stdout (whichever
there is; the file wins, since a trainer's stdout is often full of logs). A folder becomes ``hf:FOLDER``; a
``.gguf``, an ``http(s)://`` server address or an ``hf:`` spec are kept as written.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from codemill.train.sft import TrainError

__all__ = ["run_external"]

_TAIL = 2000  # characters of a failed trainer's stderr quoted in the error


def _as_spec(answer: str, base_dir: Path) -> str:
    """A trainer's answer as a ``--model`` spec: relative paths are taken from the directory the command ran in."""
    if answer.startswith(("http://", "https://", "hf:")):
        return answer
    path = Path(answer).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    if path.is_dir():
        return f"hf:{path.resolve()}"
    if path.is_file():
        return str(path.resolve())
    return answer  # a shipped model name, or something the caller's backend_from_spec will judge


def run_external(
    command: str, sft: Path, output: Path, base: str, *, timeout: float | None = None, cwd: Path | None = None
) -> str:
    """Run a trainer ``command`` (a shell line) on ``sft``; the ``--model`` spec of the model it made.

    The command sees ``CODEMILL_SFT_DATA`` (absolute path of the SFT JSONL), ``CODEMILL_OUTPUT_DIR`` (an existing,
    absolute folder for its output) and ``CODEMILL_BASE_MODEL`` (the model spec to start from). A non-zero exit,
    a timeout or no answer is a :class:`TrainError` quoting the end of its stderr.
    """
    output = Path(output).resolve()
    output.mkdir(parents=True, exist_ok=True)
    where = Path(cwd or Path.cwd()).resolve()
    env = {
        **os.environ,
        "CODEMILL_SFT_DATA": str(Path(sft).resolve()),
        "CODEMILL_OUTPUT_DIR": str(output),
        "CODEMILL_BASE_MODEL": base,
    }
    try:
        done = subprocess.run(
            command, shell=True, env=env, cwd=where, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise TrainError(f"trainer command timed out after {error.timeout:.0f} s: {command}") from None
    if done.returncode != 0:
        tail = (done.stderr or "").strip()[-_TAIL:] or "(no stderr)"
        raise TrainError(f"trainer command exited with status {done.returncode}: {command}\n{tail}")
    answer = ""
    marker = output / "model.txt"
    if marker.is_file():
        answer = marker.read_text(encoding="utf-8").strip()
    if not answer:
        lines = [line.strip() for line in (done.stdout or "").splitlines() if line.strip()]
        answer = lines[-1] if lines else ""
    if not answer:
        raise TrainError(
            f"trainer command finished but named no model: write a --model spec to {marker} or print it last"
        )
    return _as_spec(answer, where)
