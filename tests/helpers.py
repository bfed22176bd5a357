"""Shared test helpers: real-code fixtures, quick recipes, and steps that only tests use."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sysconfig
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

import httpx
from pydantic import Field

from codemill.data.schema import Document, Rejection
from codemill.llm import Backend, Generation, Prompt, Sampling
from codemill.pipeline.recipe import parse_recipe
from codemill.pipeline.step import Params, Step

STDLIB = Path(sysconfig.get_paths()["stdlib"])
LLAMA_N_CTX = 4096  # the context of the embedded model and of llama.cpp's server in the tests: the same answers

#: repo name -> (folder of real code, glob of files to take). Each lands from a Debian package that
#: `make fixtures` installs; a missing one is a failed set-up, never a skip.
REAL_SOURCES: dict[str, tuple[Path, str]] = {
    "cobra": (Path("/usr/share/gocode/src/github.com/spf13/cobra"), "*.go"),
    "serde": (
        next(iter(sorted(Path("/usr/share/cargo/registry").glob("serde-1*"))), Path("missing-serde")),
        "**/*.rs",
    ),
    "lodash": (Path("/usr/share/nodejs/lodash"), "*.js"),
    "monolog": (Path("/usr/share/php/Monolog"), "**/*.php"),
    "rack": (
        next(
            iter(sorted(Path("/usr/share/rubygems-integration/all/gems").glob("rack-*"))),
            Path("missing-rack"),
        ),
        "**/*.rb",
    ),
    "penlight": (Path("/usr/share/lua/5.4/pl"), "*.lua"),
    "perl-core": (next(iter(sorted(Path("/usr/share/perl").glob("5.*"))), Path("missing-perl")), "File/*.pm"),
    "python-json": (STDLIB / "json", "*.py"),
    "c-headers": (Path("/usr/include"), "std*.h"),
}

EXPECTED_LANGUAGE = {
    "cobra": "go",
    "serde": "rust",
    "lodash": "javascript",
    "monolog": "php",
    "rack": "ruby",
    "penlight": "lua",
    "perl-core": "perl",
    "python-json": "python",
    "c-headers": "c",
}


def copy_real_repos(target: Path, per_repo: int = 12) -> Path:
    """A folder of repositories of real code in nine languages, a few files each."""
    for repo, (folder, pattern) in REAL_SOURCES.items():
        assert folder.is_dir(), f"{folder} is missing: run `make fixtures` (Debian packages of real code)"
        files = sorted(p for p in folder.glob(pattern) if p.is_file() and not p.name.endswith(".min.js"))
        assert files, f"no {pattern} under {folder}"
        for f in files[:per_repo]:
            dest = target / repo / f.relative_to(folder)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, dest)
    return target


def recipe_with(*steps: dict, **top: object):
    """A validated recipe from plain data (steps as dicts with a 'step' key)."""
    return parse_recipe({"steps": list(steps), **top})


class SleepParams(Params):
    seconds: float = Field(0.2, ge=0)


class Sleep(Step):
    """Keeps everything, slowly: lets a test kill a run while shards are half done."""

    name = "test_sleep"
    Params: ClassVar[type[SleepParams]] = SleepParams

    def process(self, batch: list[Document]) -> tuple[list[Document], list[Rejection]]:
        time.sleep(self.params.seconds)  # type: ignore[attr-defined]
        return batch, []


class Explode(Step):
    """Fails on any batch holding a document whose text contains 'import re': tests the per-document retry."""

    name = "test_explode"

    def process(self, batch: list[Document]) -> tuple[list[Document], list[Rejection]]:
        if any("import re" in d.text for d in batch):
            raise RuntimeError("boom")
        return batch, []


class Lose(Step):
    """Drops documents without a rejection: a bug the runner must catch."""

    name = "test_lose"

    def process(self, batch: list[Document]) -> tuple[list[Document], list[Rejection]]:
        return batch[1:], []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(command: list[str], url: str, ready_path: str, timeout: float = 60) -> Iterator[str]:
    """Run a server process, wait until ``url + ready_path`` answers 200, yield ``url``, stop it afterwards."""
    server = subprocess.Popen(command)
    deadline = time.monotonic() + timeout
    try:
        while True:
            assert server.poll() is None, f"the server exited: {' '.join(command)}"
            try:
                if httpx.get(url + ready_path, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"the server did not start in {timeout} s: {' '.join(command)}"
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)


# --- a scripted model for synthesis tests: answers each role as a competent model would ----------------------

SOLUTIONS = {
    "python": ("```python\ndef add(a, b):\n    return a + b\n```", "```python\ndef add(a, b):\n    return a - b\n```"),
    "javascript": (
        "```js\nfunction add(a, b) {\n  return a + b;\n}\n```",
        "```js\nfunction add(a, b) {\n  return a - b;\n}\n```",
    ),
}
TESTS = {
    "python": "```python\nassert add(1, 2) == 3\nassert add(-1, 1) == 0\n```",
    "javascript": "```js\nconst assert = require('assert');\nassert.strictEqual(add(1, 2), 3);\n```",
}


class Scripted(Backend):
    """Answers by role; the first solve of a task is right, the second wrong (a DPO pair); proposals repeat one
    task per language and topic, so memory must refuse the repeats."""

    identity = "scripted"

    def __init__(self) -> None:
        self.calls = 0
        self.solves: Counter[str] = Counter()

    def generate(self, prompt: Prompt, sampling: Sampling) -> Generation:
        self.calls += 1
        user = prompt.messages[-1].content  # type: ignore[index]
        named = re.search(r"(?:self-contained|this|in) (python|javascript)\b", user, re.I)
        language = named.group(1).lower() if named else "python"
        if "Critique this" in user:
            text = "1. Clear enough."
        elif user.startswith("Rewrite the task fixing"):
            text = "Task: " + user.split("Task:\n", 1)[1].split("\n\nCritique:", 1)[0]
        elif "programming task" in user and "Topic:" in user:
            topic = re.search(r"Topic: ([^.]+)\.", user).group(1)  # type: ignore[union-attr]
            adapted = " (adapted)" if "shared this problem" in user else ""
            text = f"Task: Write a {language} function add(a, b) returning the sum of two numbers, on {topic}{adapted}."
        elif user.startswith("Solve this task"):
            self.solves[user] += 1
            text = SOLUTIONS[language][0 if self.solves[user] % 2 else 1] + "\nThis adds."
        elif user.startswith(("Write tests", "Write a complete")):
            text = TESTS[language]
        else:  # the checklist judge
            text = "\n".join(f"{p}: {8 if p != 'comments' else 2}" for p in re.findall(r"^- (\w+)", user, re.M)) or "x"
        return Generation(text, "stop", 10, 20)
