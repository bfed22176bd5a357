"""Megatron-LM's indexed dataset files (``.bin`` + ``.idx``), as ``MMapIndexedDataset``/``IndexedDataset`` reads them.

The layout (Megatron-LM ``megatron/core/datasets/indexed_dataset.py``, ``_IndexWriter``), all little-endian:

* ``.idx``: magic ``b"MMIDIDX\\x00\\x00"`` (9 bytes), version ``<Q`` = 1, dtype code ``<B``, sequence count
  ``<Q``, document count ``<Q`` (the length of the document index, so documents + 1), then the sequence
  lengths (int32, in elements), the sequence pointers (int64, byte offsets into ``.bin``), and the document
  index (int64: document ``d`` spans sequences ``[doc[d], doc[d+1])``).
* ``.bin``: the sequences' elements back to back, in the dtype of the code.

Here each packed sequence is one Megatron sequence and one document (document index ``0..n``), so a
trainer reading the files with Megatron gets the packed windows as they are.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"MMIDIDX\x00\x00"
VERSION = 1
#: Megatron's ``DType`` codes.
DTYPE_CODES: dict[np.dtype, int] = {
    np.dtype(np.uint8): 1,
    np.dtype(np.int8): 2,
    np.dtype(np.int16): 3,
    np.dtype(np.int32): 4,
    np.dtype(np.int64): 5,
    np.dtype(np.float64): 6,
    np.dtype(np.float32): 7,
    np.dtype(np.uint16): 8,
}
CODE_DTYPES = {code: dtype for dtype, code in DTYPE_CODES.items()}


def token_dtype(vocab_size: int) -> np.dtype:
    """Megatron's choice (``DType.optimal_dtype``): uint16 below 65,500 ids, else int32."""
    return np.dtype(np.uint16) if vocab_size < 65500 else np.dtype(np.int32)


def write_megatron(prefix: Path, tokens: np.ndarray, lengths: np.ndarray, dtype: np.dtype) -> None:
    """Write ``prefix.bin`` and ``prefix.idx``: row ``i`` of ``tokens`` truncated to ``lengths[i]`` elements."""
    lengths = np.asarray(lengths, dtype=np.int32)
    n = len(lengths)
    with open(prefix.with_suffix(".bin"), "wb") as f:
        full = int(np.count_nonzero(lengths == tokens.shape[1]))
        if full == n:
            f.write(np.ascontiguousarray(tokens[:n], dtype=dtype).tobytes())
        else:
            for i in range(n):
                f.write(np.ascontiguousarray(tokens[i, : lengths[i]], dtype=dtype).tobytes())
    pointers = np.zeros(n, dtype=np.int64)
    if n > 1:
        pointers[1:] = np.cumsum(lengths[:-1].astype(np.int64)) * dtype.itemsize
    document_index = np.arange(n + 1, dtype=np.int64)
    with open(prefix.with_suffix(".idx"), "wb") as f:
        f.write(MAGIC)
        f.write(struct.pack("<Q", VERSION))
        f.write(struct.pack("<B", DTYPE_CODES[dtype]))
        f.write(struct.pack("<Q", n))
        f.write(struct.pack("<Q", len(document_index)))
        f.write(lengths.tobytes(order="C"))
        f.write(pointers.tobytes(order="C"))
        f.write(document_index.tobytes(order="C"))


@dataclass(frozen=True)
class MegatronIndex:
    """A parsed ``.idx``: what Megatron's ``_IndexReader`` holds."""

    dtype: np.dtype
    lengths: np.ndarray
    pointers: np.ndarray
    document_index: np.ndarray


def read_megatron_index(path: Path) -> MegatronIndex:
    """Parse an ``.idx`` file; raise ValueError on a wrong magic, version, dtype or size."""
    data = path.read_bytes()
    if data[:9] != MAGIC:
        raise ValueError(f"{path}: not a Megatron index (magic {data[:9]!r})")
    (version,) = struct.unpack_from("<Q", data, 9)
    if version != VERSION:
        raise ValueError(f"{path}: index version {version}, expected {VERSION}")
    (code,) = struct.unpack_from("<B", data, 17)
    if code not in CODE_DTYPES:
        raise ValueError(f"{path}: unknown dtype code {code}")
    n_seq, n_doc = struct.unpack_from("<QQ", data, 18)
    offset = 34
    expected = offset + n_seq * 4 + n_seq * 8 + n_doc * 8
    if len(data) < expected:
        raise ValueError(f"{path}: {len(data)} bytes, the header promises {expected}")
    lengths = np.frombuffer(data, dtype=np.int32, count=n_seq, offset=offset)
    pointers = np.frombuffer(data, dtype=np.int64, count=n_seq, offset=offset + 4 * n_seq)
    documents = np.frombuffer(data, dtype=np.int64, count=n_doc, offset=offset + 12 * n_seq)
    return MegatronIndex(CODE_DTYPES[code], lengths, pointers, documents)


def read_megatron_sequences(prefix: Path) -> tuple[MegatronIndex, np.memmap]:
    """The index and a read-only memory map of the ``.bin`` (sequence ``i`` at ``pointers[i]``)."""
    index = read_megatron_index(prefix.with_suffix(".idx"))
    data = np.memmap(prefix.with_suffix(".bin"), dtype=index.dtype, mode="r")
    return index, data
