"""File-level fill-in-the-middle: which documents are rearranged, where they are cut, and the exact layouts.

A document is cut into prefix, middle and suffix at two character positions drawn uniformly from
``[0, len(text)]`` (Bavarian et al. 2022, "Efficient Training of Language Models to Fill in the Middle",
character-level splitting; bigcode's Megatron-LM does the same). Each piece is tokenised on its own, so no
token straddles a cut, and the special tokens are placed as ids:

* PSM (Qwen2.5-Coder report, Figure 3, exact):
  ``<|fim_prefix|>{pre}<|fim_suffix|>{suf}<|fim_middle|>{mid}<|endoftext|>``
* SPM, the variant of Bavarian et al. Appendix D that keeps the sentinels in PSM order (also NVIDIA
  Megatron-LM's ``GPTFIMDataset`` and bigcode's Megatron-LM ``permute``):
  ``<|fim_prefix|><|fim_suffix|>{suf}<|fim_middle|>{pre}{mid}<|endoftext|>``

With ``split="syntax"`` the middle is instead one whole node of the file's tree-sitter parse (``syntax.py``);
files that cannot be parsed keep their character cut, and the reason is counted.

Every draw comes from a ``random.Random`` seeded with the run seed and the document id: the same document
gets the same cut in every run, on every worker, in any order, and no global random state is touched.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from codemill.curate.pack.syntax import syntax_span
from codemill.curate.pack.tokenizer import Tokenizer

FimMode = Literal["psm", "spm"]


class FimOptions(BaseModel):
    """How often documents become FIM samples, in which layout, cut how; ``seed`` makes a run repeatable."""

    model_config = ConfigDict(extra="forbid")

    rate: float = Field(0.5, ge=0.0, le=1.0, description="share of documents turned into FIM samples")
    spm_rate: float = Field(0.5, ge=0.0, le=1.0, description="share of FIM samples in SPM (the rest PSM)")
    split: Literal["char", "syntax"] = Field(
        "char", description="cut at random characters, or make the middle one tree-sitter syntax node"
    )
    seed: int = Field(0, description="run seed, combined with each document id")


@dataclass(frozen=True, slots=True)
class FimCut:
    """Where a document is cut: ``text[:start]`` is the prefix, ``text[start:end]`` the middle."""

    mode: FimMode
    start: int
    end: int

    def pieces(self, text: str) -> tuple[str, str, str]:
        """``(prefix, middle, suffix)`` of ``text``."""
        return text[: self.start], text[self.start : self.end], text[self.end :]


def choose_cut(doc_id: str, n_chars: int, options: FimOptions) -> FimCut | None:
    """The FIM cut of a document, or None when it stays a plain next-token sample (also when empty)."""
    if n_chars == 0 or options.rate <= 0.0:
        return None
    rng = random.Random(f"codemill-fim\x00{options.seed}\x00{doc_id}")  # str seeds hash with SHA-512: stable
    if rng.random() >= options.rate:
        return None
    mode: FimMode = "spm" if rng.random() < options.spm_rate else "psm"
    a, b = rng.randint(0, n_chars), rng.randint(0, n_chars)
    return FimCut(mode, min(a, b), max(a, b))


def plan_cut(doc_id: str, text: str, lang: str, options: FimOptions) -> tuple[FimCut | None, str | None]:
    """The cut of a document under ``options.split``, and why a syntax cut fell back to characters (or None).

    Whether and in which mode a document is FIM'd never depends on the split, only where it is cut.
    """
    cut = choose_cut(doc_id, len(text), options)
    if cut is None or options.split == "char":
        return cut, None
    rng = random.Random(f"codemill-fim-syntax\x00{options.seed}\x00{doc_id}")
    span = syntax_span(text, lang, rng)
    if isinstance(span, str):
        return cut, span
    return FimCut(cut.mode, span[0], span[1]), None


@dataclass(frozen=True, slots=True)
class FimTokens:
    """The ids of the four control tokens of the layouts."""

    prefix: int
    middle: int
    suffix: int
    eos: int

    @classmethod
    def of(cls, tokenizer: Tokenizer) -> FimTokens:
        return cls(
            prefix=tokenizer.special_id("<|fim_prefix|>"),
            middle=tokenizer.special_id("<|fim_middle|>"),
            suffix=tokenizer.special_id("<|fim_suffix|>"),
            eos=tokenizer.eos_id,
        )


def layout(
    mode: FimMode, pre: Any, mid: Any, suf: Any, t: FimTokens, one: Callable[[int], Any] = lambda x: [x]
) -> list:
    """The parts of one FIM sample in order: the pieces' ids and each control id as ``one(id)``.

    The one place the two layouts are written down; lists and arrays both concatenate these parts.
    """
    if mode == "psm":
        return [one(t.prefix), pre, one(t.suffix), suf, one(t.middle), mid, one(t.eos)]
    return [one(t.prefix), one(t.suffix), suf, one(t.middle), pre, mid, one(t.eos)]


def assemble(mode: FimMode, pre: list[int], mid: list[int], suf: list[int], t: FimTokens) -> list[int]:
    """One FIM sample's ids from its separately encoded pieces, in the layout of ``mode``."""
    return list(chain.from_iterable(layout(mode, pre, mid, suf, t)))


def encode_flat(
    tokenizer: Tokenizer,
    ids: list[str],
    texts: list[str],
    options: FimOptions,
    fim: FimTokens | None,
    langs: list[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, list[FimCut | None], list[str | None]]:
    """All documents' ids as packed (plain text + eos, or a FIM sample) back to back in one uint32 array,
    each document's length, its cut and any syntax fallback.

    One array per batch, built by one ``np.concatenate`` of the pieces' arrays and the control ids, is what
    keeps packing near the tokenizer's own speed: no per-token Python objects. ``texts`` must already be
    normalised (``tokenizer.normalize``), so cut positions refer to the text that decoding gives back.
    ``fim`` None means FIM is off (e.g. a tokenizer without FIM tokens). ``langs`` (codemill language
    names) pick the grammar of syntax cuts.
    """
    cuts: list[FimCut | None] = []
    fallbacks: list[str | None] = []
    pieces: list[str] = []
    for i, (doc_id, text) in enumerate(zip(ids, texts, strict=True)):
        cut, fallback = plan_cut(doc_id, text, langs[i] if langs else "", options) if fim else (None, None)
        cuts.append(cut)
        fallbacks.append(fallback)
        if cut is None:
            pieces.append(text)
        else:
            pieces.extend(cut.pieces(text))
    encoded = tokenizer.encode_arrays(pieces)
    control: dict[int, np.ndarray] = {}

    def one(token: int) -> np.ndarray:
        if token not in control:
            control[token] = np.array([token], dtype=np.uint32)
        return control[token]

    eos = one(tokenizer.eos_id)
    parts: list[np.ndarray] = []
    lengths = np.zeros(len(cuts), dtype=np.int64)
    k = 0
    for i, cut in enumerate(cuts):
        if cut is None:
            parts += (encoded[k], eos)
            lengths[i] = len(encoded[k]) + 1
            k += 1
        else:
            assert fim is not None
            pre, mid, suf = encoded[k : k + 3]
            parts += layout(cut.mode, pre, mid, suf, fim, one)
            lengths[i] = len(pre) + len(mid) + len(suf) + 4
            k += 3
    flat = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint32)
    return flat, lengths, cuts, fallbacks


def encode_documents(
    tokenizer: Tokenizer,
    ids: list[str],
    texts: list[str],
    options: FimOptions,
    fim: FimTokens | None,
    langs: list[str] | None = None,
) -> tuple[list[list[int]], list[FimCut | None], list[str | None]]:
    """:func:`encode_flat` with each document's ids as a list (what ``verify`` compares against)."""
    flat, lengths, cuts, fallbacks = encode_flat(tokenizer, ids, texts, options, fim, langs)
    return [a.tolist() for a in np.split(flat, np.cumsum(lengths)[:-1])] if len(cuts) else [], cuts, fallbacks
