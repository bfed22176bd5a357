"""Benchmark: tokenise + FIM + pack, per core, beside bare encoding of the same text by three tokenizers.

On real code (Python standard-library files, ``--mb`` megabytes of them, in a fixed order), one process,
one thread each, in one run so the numbers share the machine's state. The contenders run in rounds, each
round running every one of them once, and each keeps its best round: on a shared machine whose load
drifts, interleaving is what makes the ratios mean something (timing one for a while, then the other,
measures the drift as much as the code).

* ``codemill pack``: ``pack_documents`` end to end (NFC, Qwen2.5 tokenisation on tiktoken, file-level FIM at
  0.5, packing into 8,192-token sequences, writing Megatron ``.bin/.idx`` and numpy shards); once with
  character cuts (the default) and once with tree-sitter syntax-node cuts.
* bare ``tiktoken`` with the same ranks (no NFC, no FIM, no packing, no writing), both ``encode_ordinary``
  (a list of ints) and ``encode_to_numpy`` (a uint32 buffer, what packing uses);
* bare HF ``tokenizers`` ``encode`` with the Qwen2.5 ``tokenizer.json`` built offline (one thread);
* bare ``bpe-qwen`` ``encode`` on the same vocabulary (its load time is not counted).

Prints tokens/s and MB/s per core, codemill's ratio to each, and how many files each bare tokenizer
encodes to other ids than codemill's tokenizer, and for bpe-qwen also how many FIM pieces (cut at random
characters, as packing cuts them) it encodes differently: it is faster but not exact, so it is not
eligible as the yardstick. The headline is codemill's ratio to the fastest *correct* bare tokenizer
(aim: at least 0.75). Writes ``bench/results/pack.json``. Usage:
``python bench/pack_bench.py [--mb 8] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path

from codemill import __version__
from codemill.curate.pack.fim import FimOptions, choose_cut
from codemill.curate.pack.packing import PackOptions, pack_documents
from codemill.curate.pack.tokenizer import (
    QWEN_FIRST_SPECIAL_ID,
    QWEN_PATTERN,
    QWEN_SPECIAL_TOKENS,
    QwenTokenizer,
    export_qwen_tokenizer,
    qwen_ranks,
)
from codemill.data.schema import Document

HERE = Path(__file__).parent
WORK = HERE / ".work" / "pack"
RESULTS = HERE / "results"


def corpus(megabytes: float) -> list[Document]:
    """Standard-library Python files in sorted order up to ``megabytes`` of text."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    docs: list[Document] = []
    total = 0
    for path in sorted(stdlib.rglob("*.py")):
        if "site-packages" in path.parts:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        docs.append(Document(id=str(path.relative_to(stdlib)), text=text))
        total += len(text.encode("utf-8"))
        if total >= megabytes * 1e6:
            break
    return docs


def best_of(repeat: int, run: Callable[[], object]) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - t0)
    return best, result


def rounds(repeat: int, contenders: dict[str, Callable[[], object]]) -> dict[str, tuple[float, object]]:
    """Run every contender once per round, ``repeat`` rounds; each one's best time and last result."""
    best: dict[str, tuple[float, object]] = {name: (float("inf"), None) for name in contenders}
    for _ in range(repeat):
        for name, run in contenders.items():
            t0 = time.perf_counter()
            result = run()
            best[name] = (min(best[name][0], time.perf_counter() - t0), result)
    return best


def load_bpe_qwen(folder: Path) -> object | None:
    """bpe-qwen's Rust tokenizer; its package ``__init__`` imports transformers, so load the extension itself."""
    try:
        dist = importlib.metadata.distribution("bpe-qwen")
    except importlib.metadata.PackageNotFoundError:
        return None
    so = next(Path(str(dist.locate_file(f))) for f in dist.files or [] if str(f).endswith(".so"))
    spec = importlib.util.spec_from_file_location("bpe_qwen.bpe_qwen", so)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.QwenTokenizer(str(folder))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=8.0, help="megabytes of real code to encode")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; each contender keeps its best")
    args = parser.parse_args()

    import tiktoken
    from tokenizers import Tokenizer as HFTokenizer

    docs = corpus(args.mb)
    texts = [d.text for d in docs]
    nbytes = sum(len(t.encode("utf-8")) for t in texts)
    shutil.rmtree(WORK, ignore_errors=True)
    folder = export_qwen_tokenizer(WORK / "qwen2.5-tokenizer")
    ours = QwenTokenizer(threads=1)
    reference = ours.encode_batch(texts)
    results: dict[str, dict] = {}

    def record(name: str, seconds: float, tokens: int, ids: list[list[int]] | None = None) -> None:
        entry = {
            "seconds": round(seconds, 3),
            "tokens_per_s_per_core": round(tokens / seconds),
            "mb_per_s_per_core": round(nbytes / seconds / 1e6, 2),
        }
        if ids is not None:
            entry["files_with_other_ids"] = sum(a != b for a, b in zip(ids, reference, strict=True))
        results[name] = entry
        print(f"{name:44s} {entry['mb_per_s_per_core']:6.2f} MB/s  {entry['tokens_per_s_per_core'] / 1e6:5.2f} M tok/s")

    options = PackOptions()  # 8,192 tokens, FIM 0.5, Megatron + numpy
    syntax = PackOptions(fim={"rate": 0.5, "split": "syntax"})
    syntax_docs = [Document(id=d.id, text=d.text, lang="python") for d in docs]
    # Qwen's special tokens, as codemill's encoding has them: ordinary encoding never uses them, but tiktoken's
    # encode_to_numpy searches for them, and with none its search matches at every position (very slow)
    specials = {tok: QWEN_FIRST_SPECIAL_ID + i for i, tok in enumerate(QWEN_SPECIAL_TOKENS)}
    enc = tiktoken.Encoding("qwen", pat_str=QWEN_PATTERN, mergeable_ranks=qwen_ranks(), special_tokens=specials)
    t0 = time.perf_counter()
    bpe = load_bpe_qwen(folder)
    bpe_load = time.perf_counter() - t0
    pack_name, syntax_name = "codemill pack (tokenise+FIM+pack+write)", "codemill pack, FIM cut at syntax nodes"
    contenders: dict[str, Callable[[], object]] = {
        pack_name: lambda: pack_documents(docs, WORK / "out", options, tokenizer=ours, overwrite=True),
        syntax_name: lambda: pack_documents(syntax_docs, WORK / "out", syntax, tokenizer=ours, overwrite=True),
        "codemill tokenizer only (NFC + tiktoken)": lambda: ours.encode_arrays(texts),
        "bare tiktoken encode_ordinary": lambda: [enc.encode_ordinary(t) for t in texts],
        "bare tiktoken encode_to_numpy": lambda: [enc.encode_to_numpy(t, disallowed_special=()) for t in texts],
    }
    if bpe is not None:
        contenders["bare bpe-qwen encode (1 thread)"] = lambda: [bpe.encode(t) for t in texts]  # type: ignore[attr-defined]
    best = rounds(args.repeat, contenders)
    manifest, manifest_syntax = best[pack_name][1], best[syntax_name][1]
    record(pack_name, best[pack_name][0], manifest["counts"]["tokens"])  # type: ignore[index]
    record(syntax_name, best[syntax_name][0], manifest_syntax["counts"]["tokens"])  # type: ignore[index]
    results[syntax_name]["syntax_fallback"] = manifest_syntax["counts"]["syntax_fallback"]  # type: ignore[index]
    for name, (seconds, ids) in best.items():
        if name.startswith("codemill tokenizer"):
            record(name, seconds, sum(map(len, ids)))  # type: ignore[arg-type]
        elif name.startswith("bare"):
            lists = [list(map(int, x)) for x in ids] if "numpy" in name else ids  # type: ignore[union-attr]
            record(name, seconds, sum(map(len, lists)), lists)  # type: ignore[arg-type]

    hf = HFTokenizer.from_file(str(folder / "tokenizer.json"))
    seconds, ids = best_of(1, lambda: [hf.encode(t, add_special_tokens=False).ids for t in texts])
    record("bare HF tokenizers encode (1 thread)", seconds, sum(map(len, ids)), ids)  # type: ignore[arg-type]

    if bpe is not None:
        results["bare bpe-qwen encode (1 thread)"]["load_seconds"] = round(bpe_load, 1)
        # FIM cuts pieces at random characters: does bpe-qwen still agree on the pieces packing encodes?
        always = FimOptions(rate=1.0)
        pieces = [p for d in docs if d.text for p in choose_cut(d.id, len(d.text), always).pieces(d.text)]  # type: ignore[union-attr]
        other = sum(a != bpe.encode(p) for a, p in zip(ours.encode_batch(pieces), pieces, strict=True))  # type: ignore[attr-defined]
        results["bare bpe-qwen encode (1 thread)"]["fim_pieces_with_other_ids"] = f"{other} of {len(pieces)}"
        print(f"bpe-qwen: other ids than tiktoken on {other} of {len(pieces)} FIM pieces of the same files")

    pack_speed = results["codemill pack (tokenise+FIM+pack+write)"]["tokens_per_s_per_core"]
    ratios = {
        name: round(pack_speed / r["tokens_per_s_per_core"], 3)
        for name, r in results.items()
        if name.startswith("bare")
    }
    # eligible as the yardstick: same ids on every file, and not known to differ elsewhere (bpe-qwen's
    # pre-tokeniser splits some contractions, vertical tabs and non-ASCII spaces differently: tokenizer.py)
    correct = {
        name: r["tokens_per_s_per_core"]
        for name, r in results.items()
        if name.startswith("bare") and "bpe-qwen" not in name and r.get("files_with_other_ids") == 0
    }
    fastest = max(correct, key=correct.__getitem__)
    print("\ncodemill pack / bare tokenizer (tokens/s per core):")
    for name, ratio in ratios.items():
        print(f"  {name:42s} {ratio:.2f}x{'  (not exact: not eligible)' if name not in correct else ''}")
    print(f"headline: {ratios[fastest]:.2f}x the fastest correct bare tokenizer ({fastest}; aim 0.75x)")
    summary = {
        "benchmark": "pack",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "codemill": __version__,
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "versions": {
            p: importlib.metadata.version(p) for p in ("tiktoken", "tokenizers", "qwen-tokenizer", "bpe-qwen", "numpy")
        },
        "corpus": {"files": len(docs), "bytes": nbytes, "tokens": sum(map(len, reference)), "source": "stdlib *.py"},
        "repeat": args.repeat,
        "pack": {k: manifest["counts"][k] for k in ("documents", "tokens", "psm", "spm", "sequences")},  # type: ignore[index]
        "results": results,
        "ratio_pack_to_bare": ratios,
        "fastest_correct_bare": fastest,
        "ratio_pack_to_fastest_correct_bare": ratios[fastest],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pack.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nwrote {RESULTS / 'pack.json'}")
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
