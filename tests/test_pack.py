"""Packing real code: Megatron files read by an independent reader, the boundary index, verify, CLI, bad input."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import typer
from helpers import STDLIB
from typer.testing import CliRunner

from codemill.curate.pack.cli import app as pack_app
from codemill.curate.pack.packing import PackError, PackOptions, pack_documents
from codemill.curate.pack.tokenizer import QwenTokenizer, load_tokenizer
from codemill.curate.pack.verify import verify_pack
from codemill.data.schema import Document, documents_to_table
from codemill.data.writers import write_jsonl

WINDOW = 1024


def read_megatron(prefix: Path) -> tuple[int, list[np.ndarray], np.ndarray]:
    """An independent reader of Megatron-LM's published MMapIndexedDataset layout (not the code under test)."""
    idx = prefix.with_suffix(".idx").read_bytes()
    assert idx[:9] == b"MMIDIDX\x00\x00"
    version, code, n_seq, n_doc = struct.unpack("<QBQQ", idx[9:34])
    assert version == 1
    dtype = {1: np.uint8, 2: np.int8, 3: np.int16, 4: np.int32, 5: np.int64, 6: np.float64, 7: np.float32, 8: np.uint16}
    item = np.dtype(dtype[code])
    pos = 34
    sizes = struct.unpack_from(f"<{n_seq}i", idx, pos)
    pos += 4 * n_seq
    pointers = struct.unpack_from(f"<{n_seq}q", idx, pos)
    pos += 8 * n_seq
    doc_idx = np.array(struct.unpack_from(f"<{n_doc}q", idx, pos))
    assert pos + 8 * n_doc == len(idx)
    data = prefix.with_suffix(".bin").read_bytes()
    assert len(data) == sum(sizes) * item.itemsize
    seqs = [np.frombuffer(data, dtype=item, count=n, offset=p) for n, p in zip(sizes, pointers, strict=True)]
    return code, seqs, doc_idx


@pytest.fixture(scope="module")
def qwen() -> QwenTokenizer:
    return load_tokenizer("qwen2.5")  # type: ignore[return-value]


@pytest.fixture(scope="module")
def corpus(real_repos: Path) -> list[Document]:
    """Real files in nine languages, one file far longer than a window, an empty one and odd Unicode."""
    docs = [
        Document(id=str(p.relative_to(STDLIB)), text=p.read_text(encoding="utf-8"), lang="python")
        for p in sorted((STDLIB / "json").glob("*.py")) + sorted((STDLIB / "email").glob("*.py"))
    ]
    docs += [
        Document(id=str(p.relative_to(real_repos)), text=p.read_text(encoding="utf-8", errors="replace"))
        for p in sorted(real_repos.rglob("*"))
        if p.is_file()
    ]
    docs.insert(3, Document(id="long", text=(STDLIB / "typing.py").read_text(encoding="utf-8")))  # ~30 windows
    docs.insert(5, Document(id="empty", text=""))
    docs.append(Document(id="odd", text="# cafe\u0301 <|endoftext|> <|fim_middle|> \ud800 日本語\n"))
    return docs


@pytest.fixture(scope="module")
def packed(corpus: list[Document], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pack")
    pack_documents(corpus, out, PackOptions(seq_length=WINDOW, shard_tokens=WINDOW * 40))
    return out


def layout(record: dict, text: str) -> str:
    """The exact text a packed document must decode to (Qwen2.5-Coder's FIM layouts, or text + end-of-text)."""
    if record["fim"] is None:
        return text + "<|endoftext|>"
    a, b = record["cut"]
    pre, mid, suf = text[:a], text[a:b], text[b:]
    if record["fim"] == "psm":
        return f"<|fim_prefix|>{pre}<|fim_suffix|>{suf}<|fim_middle|>{mid}<|endoftext|>"
    return f"<|fim_prefix|><|fim_suffix|>{suf}<|fim_middle|>{pre}{mid}<|endoftext|>"


def test_round_trip_through_megatron_files_and_the_boundary_index(
    packed: Path, corpus: list[Document], qwen: QwenTokenizer
) -> None:
    manifest = json.loads((packed / "pack.json").read_text())
    shards = [s["name"] for s in manifest["shards"]]
    assert len(shards) >= 3 and manifest["window"] == WINDOW
    counts = manifest["counts"]
    assert counts["documents"] == len(corpus) - 1 and counts["empty_skipped"] == 1
    assert counts["psm"] > 10 and counts["spm"] > 10

    sequences, segments, records = [], [], []
    for name in shards:
        code, seqs, doc_idx = read_megatron(packed / name)
        assert code == 4 and list(doc_idx) == list(range(len(seqs) + 1))  # int32; one Megatron doc per sequence
        window_tokens = np.load(packed / f"{name}.tokens.npy", mmap_mode="r")
        assert window_tokens.dtype == np.uint32 and window_tokens.shape == (len(seqs), WINDOW)
        for i, seq in enumerate(seqs):
            assert np.array_equal(window_tokens[i, : len(seq)], seq)
        sequences += seqs
        segments.append(np.load(packed / f"{name}.segments.npy"))
        records += [json.loads(line) for line in (packed / f"{name}.docs.jsonl").read_text().splitlines()]
    assert all(len(s) == WINDOW for s in sequences[:-1]) and 0 < len(sequences[-1]) <= WINDOW
    assert sum(map(len, sequences)) == counts["tokens"] and len(sequences) == counts["sequences"]

    # reassemble each document from the boundary index alone and decode it
    pieces: dict[int, list[np.ndarray]] = {}
    for seg in np.concatenate(segments):
        seq = sequences[seg["seq"]]
        pieces.setdefault(int(seg["doc"]), []).append(seq[seg["start"] : seg["start"] + seg["length"]])
    sources = [d for d in corpus if d.text]
    assert sorted(pieces) == list(range(len(sources))) == [r["doc"] for r in records]
    for record, source in zip(records, sources, strict=True):
        ids = np.concatenate(pieces[record["doc"]]).tolist()
        assert record["id"] == source.id and len(ids) == record["tokens"]
        assert qwen.decode(ids) == layout(record, qwen.normalize(source.text)), source.id
    long_doc = next(r for r in records if r["id"] == "long")
    assert len(pieces[long_doc["doc"]]) >= 10  # a file longer than the window continues across sequences
    odd = next(r for r in records if r["id"] == "odd")
    odd_ids = np.concatenate(pieces[odd["doc"]]).tolist()
    assert odd_ids.count(151643) == 1 and odd_ids.count(151660) == (1 if odd["fim"] else 0)  # literals stay text


def test_verify_passes_and_catches_damage(packed: Path, corpus: list[Document], tmp_path: Path) -> None:
    report = verify_pack(packed, corpus, reencode=True)
    assert report.ok, report.problems
    assert report.documents == len(corpus) - 1 and report.psm + report.spm > 20

    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for f in packed.iterdir():
        (damaged / f.name).write_bytes(f.read_bytes())
    data = bytearray((damaged / "shard-00001.bin").read_bytes())
    data[4000:4004] = struct.pack("<i", 42)
    (damaged / "shard-00001.bin").write_bytes(bytes(data))
    report = verify_pack(damaged, corpus)
    assert not report.ok and any("differs between .bin and tokens.npy" in p for p in report.problems)

    changed = [Document(id=d.id, text=d.text.replace("import", "imp0rt")) for d in corpus]
    report = verify_pack(packed, changed)
    assert not report.ok and any("decodes differently" in p for p in report.problems)
    report = verify_pack(packed, corpus[:-3])
    assert not report.ok and any("no matching source" in p for p in report.problems)


def test_deterministic_and_memory_bounded(corpus: list[Document], packed: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    pack_documents(iter(corpus), again, PackOptions(seq_length=WINDOW, shard_tokens=WINDOW * 40))
    names = sorted(p.name for p in packed.iterdir() if p.name != "pack.json")
    assert names == sorted(p.name for p in again.iterdir() if p.name != "pack.json")
    for name in names:
        assert (packed / name).read_bytes() == (again / name).read_bytes(), name
    manifest = json.loads((packed / "pack.json").read_text())
    assert all(s["tokens"] <= WINDOW * 40 for s in manifest["shards"])  # a shard's buffer is the memory bound
    assert PackOptions().window == 8192 and PackOptions(level="repo").window == 32768


def test_numpy_only_and_refusing_to_overwrite(corpus: list[Document], tmp_path: Path) -> None:
    out = tmp_path / "np"
    options = PackOptions(seq_length=256, formats=["numpy"], fim={"rate": 0.0})
    manifest = pack_documents(corpus[:5], out, options)
    assert manifest["counts"]["psm"] == manifest["counts"]["spm"] == 0
    assert not list(out.glob("*.bin")) and list(out.glob("*.tokens.npy"))
    assert verify_pack(out, corpus[:5]).ok
    with pytest.raises(PackError, match="already holds a pack"):
        pack_documents(corpus[:5], out, options)
    pack_documents(corpus[:2], out, options, overwrite=True)
    assert verify_pack(out, corpus[:2]).ok
    megatron_only = options.model_copy(update={"formats": ["megatron"]})
    pack_documents(corpus[:5], out, megatron_only, overwrite=True)
    assert not list(out.glob("*.tokens.npy")) and list(out.glob("*.idx"))
    assert verify_pack(out, corpus[:5]).ok


def test_cli_packs_a_codemill_output_folder_and_jsonl(corpus: list[Document], tmp_path: Path) -> None:
    main = typer.Typer()
    main.callback()(lambda: None)
    main.add_typer(pack_app, name="pack")
    runner = CliRunner()
    curated = tmp_path / "curated"
    (curated / "data").mkdir(parents=True)
    docs = [d for d in corpus if d.text and d.text.isascii()][:30]
    pq.write_table(documents_to_table(docs[:20]), curated / "data" / "shard-00000.parquet")
    pq.write_table(documents_to_table(docs[20:]), curated / "data" / "shard-00001.parquet")
    out = tmp_path / "packed"
    result = runner.invoke(main, ["pack", "-i", str(curated), "-o", str(out), "--seq-length", "512", "--verify"])
    assert result.exit_code == 0, result.output
    assert "packed 30 documents" in result.stdout and "verified 30 documents" in result.stdout

    jsonl = tmp_path / "docs.jsonl.zst"
    write_jsonl(docs[:10], jsonl)
    out2 = tmp_path / "packed2"
    result = runner.invoke(main, ["pack", "-i", str(jsonl), "-o", str(out2), "--level", "repo", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert json.loads((out2 / "pack.json").read_text())["window"] == 32768
    result = runner.invoke(main, ["pack", "verify", str(out2), "-i", str(jsonl)])
    assert result.exit_code == 0 and "verified 10 documents" in result.stdout

    result = runner.invoke(main, ["pack", "verify", str(out2), "-i", str(curated)])  # the wrong input
    assert result.exit_code == 2 and "problem(s)" in result.output
    result = runner.invoke(main, ["pack", "-i", str(jsonl), "-o", str(out2), "--tokenizer", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "unknown tokenizer" in result.output
    result = runner.invoke(main, ["pack", "-i", str(tmp_path / "missing"), "-o", str(out2)])
    assert result.exit_code == 2 and "does not exist" in result.output
    result = runner.invoke(main, ["pack", "-i", str(jsonl), "-o", str(out2), "--formats", "csv", "--overwrite"])
    assert result.exit_code == 2 and "formats" in result.output
