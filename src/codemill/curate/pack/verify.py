"""``verify``: read a pack back, decode every document, and check it against the source documents.

What is checked, so that a trainer can trust the shards without trusting the packer:

* every file a shard should have is there; the Megatron ``.idx`` parses (magic, version, dtype, counts),
  its lengths, pointers and document index agree with ``.sequences.npy`` and the ``.bin`` size; the
  Megatron and numpy copies hold the same ids; padding is end-of-text;
* the boundary index tiles each sequence exactly (segments start at 0, follow each other, end at the
  sequence's length) and each document's pieces follow each other in order;
* each document, reassembled from its pieces, decodes to the source text (normalised as the tokenizer
  does), in its layout: plain text + ``<|endoftext|>``, or the exact PSM/SPM FIM layout, with the cut the
  run seed gives that document id; optionally (``reencode``) the ids equal a fresh encoding.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from codemill.curate.pack.fim import FimCut, FimTokens, encode_documents, plan_cut
from codemill.curate.pack.megatron import read_megatron_index
from codemill.curate.pack.packing import PackError, PackOptions, fim_tokens_for, of_kinds
from codemill.curate.pack.tokenizer import Tokenizer, load_tokenizer
from codemill.data.schema import Document


@dataclass
class VerifyReport:
    """The outcome: counts of what was checked, and the first problems found (empty when all is well)."""

    documents: int = 0
    sequences: int = 0
    tokens: int = 0
    psm: int = 0
    spm: int = 0
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def problem(self, message: str, keep: int = 50) -> None:
        self.problem_count += 1
        if len(self.problems) < keep:
            self.problems.append(message)


def load_manifest(out_dir: Path) -> dict[str, Any]:
    path = out_dir / "pack.json"
    if not path.is_file():
        raise PackError(f"{out_dir} is not a finished pack (no pack.json)")
    return json.loads(path.read_text(encoding="utf-8"))


def _shard_tokens(out_dir: Path, name: str, formats: set[str], sequences: np.ndarray, report: VerifyReport) -> Any:
    """The shard's ids as a 2-D array-like (Megatron preferred), after cross-checking the two copies."""
    lengths = sequences["length"]
    window_tokens: np.ndarray | None = None
    if "numpy" in formats:
        window_tokens = np.load(out_dir / f"{name}.tokens.npy", mmap_mode="r")
        if window_tokens.shape[0] != len(lengths):
            report.problem(f"{name}: tokens.npy has {window_tokens.shape[0]} rows, index says {len(lengths)}")
    if "megatron" not in formats:
        return window_tokens
    index = read_megatron_index(out_dir / f"{name}.idx")
    if not np.array_equal(index.lengths, lengths):
        report.problem(f"{name}: .idx lengths differ from sequences.npy")
    expected_pointers = np.concatenate([[0], np.cumsum(lengths[:-1].astype(np.int64))]) * index.dtype.itemsize
    if not np.array_equal(index.pointers, expected_pointers[: len(index.pointers)]):
        report.problem(f"{name}: .idx pointers are not the running sum of lengths")
    if not np.array_equal(index.document_index, np.arange(len(lengths) + 1)):
        report.problem(f"{name}: .idx document index is not 0..{len(lengths)}")
    bin_path = out_dir / f"{name}.bin"
    size = bin_path.stat().st_size
    if size != int(lengths.sum()) * index.dtype.itemsize:
        report.problem(f"{name}: .bin has {size} bytes, the index needs {int(lengths.sum()) * index.dtype.itemsize}")
        return window_tokens
    data = np.memmap(bin_path, dtype=index.dtype, mode="r") if size else np.zeros(0, dtype=index.dtype)
    rows = [
        data[p // index.dtype.itemsize : p // index.dtype.itemsize + n]
        for p, n in zip(index.pointers, lengths, strict=True)
    ]
    if window_tokens is not None:
        for i, row in enumerate(rows):
            if not np.array_equal(row, window_tokens[i, : len(row)]):
                report.problem(f"{name}: sequence {i} differs between .bin and tokens.npy")
    return rows


def _pieces(
    out_dir: Path, manifest: dict[str, Any], eos: int, report: VerifyReport
) -> Iterator[tuple[int, int, np.ndarray]]:
    """``(doc ordinal, offset in the doc, ids)`` pieces in stream order, after the per-shard structural checks."""
    formats = set(manifest["options"]["formats"])
    window = manifest["window"]
    seq_base = 0
    for shard in manifest["shards"]:
        name = shard["name"]
        sequences = np.load(out_dir / f"{name}.sequences.npy")
        segments = np.load(out_dir / f"{name}.segments.npy")
        tokens = _shard_tokens(out_dir, name, formats, sequences, report)
        if "numpy" in formats:
            padded = np.load(out_dir / f"{name}.tokens.npy", mmap_mode="r")
            for i, n in enumerate(sequences["length"]):
                if n < window and not np.all(padded[i, n:] == eos):
                    report.problem(f"{name}: sequence {i} is padded with something other than end-of-text")
        report.sequences += len(sequences)
        for i, seq in enumerate(sequences):
            first, count = int(seq["first_segment"]), int(seq["n_segments"])
            segs = segments[first : first + count]
            starts = np.concatenate([[0], np.cumsum(segs["length"])[:-1]]) if count else np.zeros(0)
            if (
                count == 0
                or np.any(segs["seq"] != seq_base + i)
                or not np.array_equal(segs["start"], starts)
                or int(segs["length"].sum()) != int(seq["length"])
            ):
                report.problem(f"{name}: the segments of sequence {seq_base + i} do not tile it")
                continue
            row = tokens[i]
            report.tokens += int(seq["length"])
            for s in segs:
                yield int(s["doc"]), int(s["doc_offset"]), np.asarray(row[s["start"] : s["start"] + s["length"]])
        seq_base += len(sequences)


def _doc_records(out_dir: Path, manifest: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for shard in manifest["shards"]:
        with open(out_dir / f"{shard['name']}.docs.jsonl", encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)


def _check_document(
    ids: np.ndarray, text: str, cut: FimCut | None, tokenizer: Tokenizer, fim: FimTokens | None, eos: int
) -> str | None:
    """Why the document's ids do not decode to ``text`` in its layout, or None when they do."""
    if len(ids) == 0 or ids[-1] != eos:
        return "does not end with end-of-text"
    if cut is None:
        got = tokenizer.decode(ids[:-1].tolist())
        return None if got == text else _diff("text", got, text)
    assert fim is not None
    pre, mid, suf = cut.pieces(text)
    where = {t: np.flatnonzero(ids == t) for t in (fim.prefix, fim.suffix, fim.middle)}
    if any(len(w) != 1 for w in where.values()):
        return "FIM control tokens missing or repeated"
    p, s, m = int(where[fim.prefix][0]), int(where[fim.suffix][0]), int(where[fim.middle][0])
    decode = tokenizer.decode
    if cut.mode == "psm":
        if not p == 0 < s < m:
            return "PSM control tokens out of order"
        parts = [("prefix", ids[1:s], pre), ("suffix", ids[s + 1 : m], suf), ("middle", ids[m + 1 : -1], mid)]
    else:
        if not (p == 0 and s == 1 and m > s):
            return "SPM control tokens out of order"
        parts = [("suffix", ids[2:m], suf), ("prefix+middle", ids[m + 1 : -1], pre + mid)]
    for label, piece, expected in parts:
        got = decode(piece.tolist())
        if got != expected:
            return _diff(label, got, expected)
    return None


def _diff(label: str, got: str, expected: str) -> str:
    at = next((i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b), min(len(got), len(expected)))
    return f"{label} decodes differently at character {at} ({got[at : at + 20]!r} vs {expected[at : at + 20]!r})"


def verify_pack(
    out_dir: Path,
    documents: Iterable[Document],
    tokenizer: Tokenizer | None = None,
    reencode: bool = False,
) -> VerifyReport:
    """Check the pack in ``out_dir`` against the documents it was made from (in the same order)."""
    manifest = load_manifest(out_dir)
    options = PackOptions.model_validate(manifest["options"])
    documents = of_kinds(documents, options)
    tokenizer = tokenizer or load_tokenizer(options.tokenizer)
    eos = tokenizer.eos_id
    if eos != manifest["tokenizer"]["eos_id"]:
        raise PackError(f"tokenizer {tokenizer.name} has end-of-text {eos}, the pack used {manifest['tokenizer']}")
    fim = fim_tokens_for(tokenizer, options)
    if manifest.get("samples") == "repo":
        return _verify_repo(out_dir, manifest, documents, options, tokenizer, fim, reencode)
    report = VerifyReport()
    sources = (d for d in documents if d.text)
    records = _doc_records(out_dir, manifest)
    current: tuple[int, list[np.ndarray], int] | None = None  # (ordinal, pieces, tokens so far)

    def finish(ordinal: int, pieces: list[np.ndarray]) -> None:
        ids = np.concatenate(pieces)
        record = next(records, None)
        source = next(sources, None)
        if record is None or source is None or record["doc"] != ordinal:
            report.problem(f"document {ordinal}: no matching {'source' if source is None else 'record'}")
            return
        report.documents += 1
        label = f"document {ordinal} ({source.id})"
        if record["id"] != source.id or record["tokens"] != len(ids):
            report.problem(f"{label}: the record says id {record['id']!r} with {record['tokens']} tokens")
            return
        text = tokenizer.normalize(source.text)
        cut = plan_cut(source.id, text, source.lang, options.fim)[0] if fim is not None else None
        if (record["fim"], record["cut"]) != ((cut.mode, [cut.start, cut.end]) if cut else (None, None)):
            report.problem(f"{label}: FIM {record['fim']} {record['cut']} is not the seed's cut {cut}")
            return
        if cut is not None:
            setattr(report, cut.mode, getattr(report, cut.mode) + 1)
        problem = _check_document(ids, text, cut, tokenizer, fim, eos)
        if problem is None and reencode:
            fresh, _, _ = encode_documents(tokenizer, [source.id], [text], options.fim, fim, [source.lang])
            if fresh[0] != ids.tolist():
                problem = "decodes right but a fresh encoding gives other ids"
        if problem:
            report.problem(f"{label}: {problem}")

    for ordinal, offset, piece in _pieces(out_dir, manifest, eos, report):
        if current is not None and current[0] != ordinal:
            finish(current[0], current[1])
            current = None
        if current is None:
            if offset != 0:
                report.problem(f"document {ordinal}: starts at token {offset}, not 0")
            current = (ordinal, [piece], len(piece))
        else:
            if offset != current[2]:
                report.problem(f"document {ordinal}: piece at token {offset} follows token {current[2]}")
            current[1].append(piece)
            current = (ordinal, current[1], current[2] + len(piece))
    if current is not None:
        finish(current[0], current[1])
    extra = sum(1 for _ in sources)
    if extra:
        report.problem(f"{extra} source documents are not in the pack")
    if report.documents != manifest["counts"]["documents"]:
        report.problem(f"pack.json counts {manifest['counts']['documents']} documents, found {report.documents}")
    return report


def _verify_repo(
    out_dir: Path,
    manifest: dict[str, Any],
    documents: Iterable[Document],
    options: PackOptions,
    tokenizer: Tokenizer,
    fim: FimTokens | None,
    reencode: bool,
) -> VerifyReport:
    """Repo-level packs: each sample decodes to the layout rebuilt from the source files (``repo.py``)."""
    from codemill.curate.pack.repo import expected_layouts

    eos = tokenizer.eos_id
    report = VerifyReport()
    expected = expected_layouts(documents, options, tokenizer, fim)
    records = _doc_records(out_dir, manifest)
    controls = {tokenizer.special_id("<|repo_name|>"), tokenizer.special_id("<|file_sep|>")}

    def finish(ordinal: int, pieces: list[np.ndarray]) -> None:
        ids = np.concatenate(pieces)
        record, item = next(records, None), next(expected, None)
        if record is None or item is None or record["doc"] != ordinal:
            report.problem(f"sample {ordinal}: no matching {'source' if item is None else 'record'}")
            return
        sample, text = item
        report.documents += 1
        label = f"sample {ordinal} ({sample.id})"
        cut = [sample.cut.start, sample.cut.end] if sample.cut else None
        if (record["id"], record["files"], record["fim"], record["cut"]) != (
            sample.id,
            sample.paths,
            sample.cut.mode if sample.cut else None,
            cut,
        ):
            report.problem(f"{label}: the record does not match the sample the sources give")
            return
        if sample.cut is not None:
            setattr(report, sample.cut.mode, getattr(report, sample.cut.mode) + 1)
        if int(np.isin(ids, list(controls)).sum()) != 1 + len(sample.paths) or ids[-1] != eos:
            report.problem(f"{label}: repository/file separators or end-of-text are not where the layout puts them")
        elif (got := tokenizer.decode(ids.tolist())) != text:
            report.problem(f"{label}: {_diff('sample', got, text)}")
        elif reencode and sample.ids != ids.tolist():
            report.problem(f"{label}: decodes right but a fresh encoding gives other ids")

    current: tuple[int, list[np.ndarray]] | None = None
    for ordinal, _offset, piece in _pieces(out_dir, manifest, eos, report):
        if current is not None and current[0] != ordinal:
            finish(*current)
            current = None
        if current is None:
            current = (ordinal, [piece])
        else:
            current[1].append(piece)
    if current is not None:
        finish(*current)
    extra = sum(1 for _ in expected)
    if extra:
        report.problem(f"{extra} samples the sources give are not in the pack")
    if report.documents != manifest["counts"]["documents"]:
        report.problem(f"pack.json counts {manifest['counts']['documents']} samples, found {report.documents}")
    return report
