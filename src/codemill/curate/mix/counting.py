"""Pass 1 of a mix: each document's size (tokens or bytes), kind, level, language and seeded key, a few numbers
a document (never its text)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import xxhash

from codemill.curate.mix.options import MixOptions
from codemill.curate.pack.sources import documents_of_files
from codemill.data.schema import Document


@dataclass
class Counted:
    """Pass 1: per document, its input file and row, kind, level, language, size and key."""

    file: np.ndarray
    row: np.ndarray
    kind: np.ndarray
    level: np.ndarray
    lang: np.ndarray
    size: np.ndarray
    key: np.ndarray
    kinds: list[str]
    langs: list[str]
    empty: int


def _key(seed: int, doc_id: str) -> int:
    return xxhash.xxh64_intdigest(f"codemill-mix\x00{seed}\x00{doc_id}".encode("utf-8", "surrogatepass"))


def count_documents(files: list[Path], options: MixOptions, batch: int = 512) -> Counted:
    """Pass 1 over the input files."""
    tokenizer = None
    if options.unit == "tokens":
        from codemill.curate.pack.tokenizer import load_tokenizer

        tokenizer = load_tokenizer(options.tokenizer)
    kinds: dict[str, int] = {}
    langs: dict[str, int] = {}
    cols: dict[str, list[np.ndarray]] = defaultdict(list)
    empty = 0

    def rows() -> Iterator[tuple[int, int, Document]]:
        nonlocal empty
        for f_index, file in enumerate(files):
            for row, doc in enumerate(documents_of_files([file])):
                if doc.text:
                    yield f_index, row, doc
                else:
                    empty += 1

    stream = rows()
    while chunk := list(islice(stream, batch)):
        docs = [d for _, _, d in chunk]
        if tokenizer is not None:
            sizes = [len(ids) + 1 for ids in tokenizer.encode_batch([tokenizer.normalize(d.text) for d in docs])]
        else:
            sizes = [d.nbytes for d in docs]
        cols["file"].append(np.array([f for f, _, _ in chunk], np.int32))
        cols["row"].append(np.array([r for _, r, _ in chunk], np.int64))
        cols["kind"].append(np.array([kinds.setdefault(d.kind, len(kinds)) for d in docs], np.int16))
        cols["level"].append(np.array([d.quality for d in docs], np.int32))
        cols["lang"].append(np.array([langs.setdefault(d.lang, len(langs)) for d in docs], np.int32))
        cols["size"].append(np.array(sizes, np.int64))
        cols["key"].append(np.array([_key(options.seed, d.id) for d in docs], np.uint64))
    dtypes = {"file": np.int32, "row": np.int64, "kind": np.int16, "level": np.int32, "lang": np.int32}
    dtypes |= {"size": np.int64, "key": np.uint64}
    arrays = {k: np.concatenate(cols[k]) if cols[k] else np.zeros(0, dt) for k, dt in dtypes.items()}
    return Counted(**arrays, kinds=list(kinds), langs=list(langs), empty=empty)
