"""Fixtures built from real code on the machine: Debian's packages (installed by `make fixtures`) and Python."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import LLAMA_N_CTX, STDLIB, copy_real_repos, free_port, served


@pytest.fixture(scope="session")
def real_repos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_real_repos(tmp_path_factory.mktemp("repos"))


@pytest.fixture
def bad_repo(tmp_path: Path) -> Path:
    """A repository of real files plus every kind of bad input a crawl meets."""
    root = tmp_path / "corpus"
    repo = root / "messy"
    repo.mkdir(parents=True)
    shutil.copyfile(STDLIB / "json" / "decoder.py", repo / "decoder.py")
    shutil.copyfile("/usr/share/nodejs/lodash/lodash.min.js", repo / "lodash.min.js")  # one line of minified code
    (repo / "latin1.py").write_bytes("# caf\xe9\nprint('x')\n".encode("latin-1"))  # broken UTF-8
    (repo / "blob.py").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8)  # binary content
    (repo / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    (repo / "empty.py").write_bytes(b"")
    (repo / "blank.py").write_text("   \n\n\t\n")
    with (repo / "huge.py").open("wb") as f:  # 200 MB, sparse: rejected by size before anything reads it
        f.truncate(200 * 1024 * 1024)
    (repo / "node_modules" / "dep").mkdir(parents=True)
    (repo / "node_modules" / "dep" / "index.js").write_text("module.exports = 1;\n")
    (repo / ".git").mkdir()
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return root


@pytest.fixture(scope="session")
def llama_server() -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server (llama-cpp-python's) on loopback with the shipped SmolLM2, as a
    ``--model`` spec; its repeat_penalty default (1.1) is neutralised so greedy answers equal the embedded ones."""
    from codemill.llm.models import shipped_model_path

    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(shipped_model_path("smollm2")),
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(LLAMA_N_CTX), "--n_threads", "1",
    ]  # fmt: skip
    with served(command, f"http://127.0.0.1:{port}", "/v1/models", timeout=120) as url:
        yield f"{url}/v1?repeat_penalty=1.0"
