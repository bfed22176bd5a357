"""Speed of the filtering ladder's levels 0-2 against datatrove's closest stock filters, side by side, one run.

Corpus: the sample corpus of ``make run`` (``codemill sample-corpus``: the Python standard library and the
virtual environment's packages, one repository each), read once by codemill and exported to one JSONL file
(``id, text, lang, repo, path``) that both tools then read, 1 task and 1 worker each. ``--limit N`` takes the
first N records instead of all of them (the JSON says which).

* **codemill**: a recipe of the default recipe's ``format`` (level 0), ``code_rules`` (level 1) and
  ``classifier`` (level 2, the shipped ``code_quality`` fastText model) steps with the parameters of
  ``configs/default.yaml`` (level 1 hard, level 2 soft: it scores every document level 1 keeps), JSONL in,
  kept and rejected documents out as Parquet.
* **datatrove** (0.10.1): ``JsonlReader`` -> ``LambdaFilter`` (the same size, blank, NUL and line bounds as
  ``format``) -> ``RegexFilter`` (codemill's auto-generated markers) -> ``GopherRepetitionFilter`` ->
  ``GopherQualityFilter`` -> ``FineWebQualityFilter`` -> ``FastTextClassifierFilter`` (our ``.ftz`` model, keep
  ``good`` >= 0.5) -> ``ParquetWriter``; each filter's rejects go to an exclusion ``ParquetWriter`` as codemill's
  go to ``rejected/``. datatrove has no code-specific stock filters: Gopher and FineWeb are its closest
  line/word-statistics rules. Its word filters need a word tokenizer; English maps to spaCy, which is not
  installed here, so they get a regex tokenizer (words and punctuation), cheaper than spaCy: datatrove's
  numbers are, if anything, flattered. Its fastText filter feeds the raw text (newlines removed) to the model
  rather than codemill's layout features, so its scores are not meaningful, only its cost is; it is the stock
  class with only its install check relaxed (it insists on the ``fasttext-numpy2-wheel`` distribution, which
  would replace the ``fasttext`` module codemill uses) and needs ``fasteners``.

Two modes, each run side by side in the same process:

* **hard chains**: both as above; a document a filter drops is not seen by later ones. The chains drop
  different documents (datatrove's prose rules drop most code before its fastText filter), so per-step
  documents in/out are printed with the speeds.
* **every document through every level** (equal work): codemill with ``code_rules`` and ``classifier`` soft;
  datatrove's level-1 filters each judge every document (one block calls each stock filter's ``filter()`` and
  keeps the document: datatrove filters have no score-only mode) and its fastText filter scores every document
  (its own score-only mode, no labels, fails in 0.10.1, so it gets a removal threshold of 1.01).

Speeds are documents (and MB of text) in per second of wall clock, per core (1 worker each); the ratio is
codemill's documents/s over datatrove's.
Usage: ``.venv/bin/python bench/ladder_bench.py [--limit N]``; writes ``bench/results/ladder_bench.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import shutil
import sys
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

from codemill import __version__
from codemill.curate.classify.model import Classifier, resolve_model
from codemill.curate.filters.signals import AUTOGEN_MARKERS
from codemill.data.samples import build_sample_corpus
from codemill.data.writers import iter_parquet_rows
from codemill.pipeline.recipe import load_recipe, parse_recipe
from codemill.pipeline.run import curate
from codemill.pipeline.runner import iter_outputs

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench/.work/ladder"
RESULTS = ROOT / "bench/results/ladder_bench.json"
RECIPE = ROOT / "configs/default.yaml"
LEVELS = ("format", "code_rules", "classifier")
_WORD = re.compile(r"\w+|[^\w\s]")
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|\n|$)")


def export_corpus(jsonl: Path, limit: int | None) -> tuple[int, int]:
    """Build the sample corpus, read it once with codemill (no steps) and write the documents as JSONL."""
    corpus = WORK / "corpus"
    build_sample_corpus(corpus)
    first = WORK / "read"
    curate(parse_recipe({"name": "read", "steps": []}), [corpus], first, workers=1, progress=False, overwrite=True)
    docs = nbytes = 0
    jsonl.parent.mkdir(parents=True, exist_ok=True)
    with jsonl.open("w", encoding="utf-8") as f:
        for r in iter_parquet_rows(iter_outputs(first)):
            if limit is not None and docs >= limit:
                break
            f.write(json.dumps({k: r[k] for k in ("id", "text", "lang", "repo", "path")}) + "\n")
            docs += 1
            nbytes += len(r["text"].encode("utf-8", "surrogatepass"))
    shutil.rmtree(first, ignore_errors=True)
    return docs, nbytes


def ladder_recipe(every_document: bool = False) -> Any:
    """Levels 0-2 of the default recipe, with its parameters; ``every_document``: levels 1 and 2 soft (score only),
    so every document that passes level 0 is judged by both."""
    default = load_recipe(RECIPE)
    steps = [s.to_json() for s in default.steps if s.step in LEVELS]
    if [s["step"] for s in steps] != list(LEVELS):
        raise SystemExit(f"{RECIPE}: expected the steps {LEVELS} in that order")
    if every_document:
        steps = [{**s, "mode": "soft"} if s["step"] != "format" else s for s in steps]
    return parse_recipe({"name": "ladder-0-2", "read": default.read.model_dump(mode="json"), "steps": steps})


def run_codemill(jsonl: Path, out: Path, every_document: bool) -> tuple[float, dict[str, Any]]:
    recipe = ladder_recipe(every_document)
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    stats = curate(recipe, [jsonl], out, workers=1, progress=False)
    seconds = time.perf_counter() - start
    steps = {
        s["name"]: {"in": s["in"], "kept": s["kept"], "seconds": s["seconds"], "reasons": s["reasons"]}
        for s in stats["steps"]
    }
    return seconds, {"kept": stats.get("documents_kept"), "steps": steps}


def _regex_tokenizer() -> Any:
    """A datatrove ``WordTokenizer`` without spaCy: words and punctuation marks, sentences by end marks."""
    from datatrove.utils.word_tokenizers import WordTokenizer

    class RegexTokenizer(WordTokenizer):
        def word_tokenize(self, text: str) -> list[str]:
            return _WORD.findall(text)

        def sent_tokenize(self, text: str) -> list[str]:
            return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]

        def span_tokenize(self, text: str) -> list[tuple[int, int]]:
            return [m.span() for m in _SENTENCE.finditer(text) if m.group().strip()]

    return RegexTokenizer()


def datatrove_pipeline(jsonl: Path, out: Path, every_document: bool = False) -> list[Any]:
    """The closest datatrove chain to levels 0-2, each stock filter's rejects to its own Parquet sink.

    ``every_document``: after level 0, every stock filter judges every document (:func:`_every_document`) and
    the fastText filter only annotates, the work codemill does with levels 1 and 2 soft."""
    from datatrove.pipeline.filters import (
        FastTextClassifierFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
        LambdaFilter,
        RegexFilter,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import ParquetWriter

    fmt = next(s.params for s in ladder_recipe().steps if s.step == "format")
    min_bytes, max_bytes, max_lines = fmt.min_bytes, fmt.max_bytes, fmt.max_lines  # type: ignore[attr-defined]
    clf = next(s.params for s in ladder_recipe().steps if s.step == "classifier")

    def level0(doc: Any) -> bool:
        size = len(doc.text.encode("utf-8", "surrogatepass"))
        return (
            min_bytes <= size <= max_bytes
            and bool(doc.text.strip())
            and "\x00" not in doc.text
            and doc.text.count("\n") + 1 <= max_lines
        )

    def sink(name: str) -> Any:
        return ParquetWriter(str(out / "rejected" / name), compression="zstd")

    class FastTextFilter(FastTextClassifierFilter):
        """The stock filter, unchanged, but accepting the ``fasttext-community`` build codemill installs: datatrove
        insists on the distribution ``fasttext-numpy2-wheel``, which would replace the same ``fasttext`` module."""

        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            import fasteners  # noqa: F401  (what the check wants besides fasttext, which codemill imports)

            return object.__new__(cls)

    tok = _regex_tokenizer()
    level1 = [
        RegexFilter(AUTOGEN_MARKERS.pattern, exclusion_writer=None if every_document else sink("autogenerated")),
        GopherRepetitionFilter(language=tok, exclusion_writer=None if every_document else sink("gopher_repetition")),
        GopherQualityFilter(language=tok, exclusion_writer=None if every_document else sink("gopher_quality")),
        FineWebQualityFilter(language=tok, exclusion_writer=None if every_document else sink("fineweb_quality")),
    ]
    model = str(resolve_model(clf.model))  # type: ignore[attr-defined]
    # save_labels_in_metadata=False: the filter writes the labels in the order fastText ranks them, so the metadata
    # struct changes field order between documents and datatrove's ParquetWriter refuses the batch
    if every_document:
        # score-only: datatrove 0.10.1's own score-only mode (no labels) fails on `keep_labels or [] + None`, so
        # it gets a removal threshold no probability reaches
        other = next(label for label in Classifier(model).labels if label != clf.positive)  # type: ignore[attr-defined]
        middle = [
            _every_document(level1),
            FastTextFilter(model, remove_labels=(other, 1.01), save_labels_in_metadata=False),
        ]
    else:
        keep = (clf.positive, clf.threshold)  # type: ignore[attr-defined]
        middle = [
            *level1,
            FastTextFilter(model, keep_labels=keep, save_labels_in_metadata=False, exclusion_writer=sink("fasttext")),
        ]
    return [
        JsonlReader(str(jsonl.parent), glob_pattern=jsonl.name),
        LambdaFilter(level0, exclusion_writer=sink("format")),
        *middle,
        ParquetWriter(str(out / "data"), compression="zstd"),
    ]


def _every_document(filters: list[Any]) -> Any:
    """A pipeline block that runs each stock filter's own ``filter()`` on every document and keeps them all,
    recording the verdicts in the metadata (datatrove filters have no score-only mode)."""
    from datatrove.pipeline.base import PipelineStep

    class EveryDocument(PipelineStep):
        type = "🔻 - FILTERS"
        name = "every document: Regex, Gopher Repetition, Gopher Quality, FineWeb Quality"

        def run(self, data: Any, rank: int = 0, world_size: int = 1) -> Any:
            for doc in data:
                with self.track_time():
                    for f in filters:
                        verdict = f.filter(doc)
                        kept = verdict[0] if isinstance(verdict, tuple) else verdict
                        doc.metadata[f"kept_by {f.name}"] = bool(kept)
                        if not kept:
                            self.stat_update(f"dropped {f.name}")
                self.stat_update("total")
                self.stat_update("forwarded")
                yield doc

    return EveryDocument()


def run_datatrove(jsonl: Path, out: Path, every_document: bool) -> tuple[float, dict[str, Any]]:
    from datatrove.executor import LocalPipelineExecutor

    shutil.rmtree(out, ignore_errors=True)
    pipeline = datatrove_pipeline(jsonl, out, every_document)
    executor = LocalPipelineExecutor(pipeline=pipeline, tasks=1, workers=1, logging_dir=str(out / "logs"))
    start = time.perf_counter()
    executor.run()
    seconds = time.perf_counter() - start
    return seconds, {"steps": _datatrove_steps(out / "logs")}


def _datatrove_steps(logs: Path) -> dict[str, Any]:
    """Per-block documents in/out and seconds from datatrove's merged stats."""
    stats_file = logs / "stats.json"
    if not stats_file.is_file():
        return {}
    steps: dict[str, Any] = {}
    for block in json.loads(stats_file.read_text()):
        name = block.get("name", "?")
        s = block.get("stats", {})
        total = block.get("time_stats", {}).get("total") if isinstance(block.get("time_stats"), dict) else None
        steps[name] = {
            "in": s.get("total"),
            "kept": s.get("forwarded"),
            "dropped": s.get("dropped"),
            "seconds": round(total, 3) if isinstance(total, float) else total,
        }
    return steps


def rate(docs: int, nbytes: int, seconds: float) -> dict[str, float]:
    """Documents and MB of text per second and per core (both tools run one worker)."""
    return {
        "seconds": round(seconds, 2),
        "docs_per_s_per_core": round(docs / seconds, 1),
        "mb_per_s_per_core": round(nbytes / 1e6 / seconds, 2),
    }


def _lines(steps: dict[str, Any]) -> Iterator[str]:
    for name, s in steps.items():
        yield f"      {name[:34]:34s} in {s.get('in')!s:>7}  kept {s.get('kept')!s:>7}  {s.get('seconds')!s:>8} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N documents of the corpus")
    args = parser.parse_args()
    jsonl = WORK / "jsonl" / "corpus.jsonl"
    start = time.perf_counter()
    docs, nbytes = export_corpus(jsonl, args.limit)
    exported = time.perf_counter() - start
    print(f"corpus: {docs:,} documents, {nbytes / 1e6:,.1f} MB of text -> {jsonl.relative_to(ROOT)}")

    results: dict[str, Any] = {}
    ratios: dict[str, float] = {}
    for mode, every in (("hard chains", False), ("every document through every level", True)):
        t_cm, cm = run_codemill(jsonl, WORK / "codemill", every)
        t_dt, dt = run_datatrove(jsonl, WORK / "datatrove", every)
        ours, peer = rate(docs, nbytes, t_cm), rate(docs, nbytes, t_dt)
        ratios[mode] = round(ours["docs_per_s_per_core"] / peer["docs_per_s_per_core"], 3)
        print(f"\n{mode}:")
        for name, r, detail in (("codemill levels 0-2", ours, cm), ("datatrove stock filters", peer, dt)):
            print(
                f"  {name:26s} {r['seconds']:8.2f} s  {r['docs_per_s_per_core']:9,.1f} docs/s/core  "
                f"{r['mb_per_s_per_core']:6.2f} MB/s/core"
            )
            print("\n".join(_lines(detail["steps"])))
        print(f"  levels 0-2, {mode}: codemill / datatrove = {ratios[mode]:.2f}x (documents/s, 1 worker each)")
        results[mode] = {
            "codemill": {**ours, **cm, "steps_config": [s.to_json() for s in ladder_recipe(every).steps]},
            "datatrove": {**peer, **dt, "blocks": [type(b).__name__ for b in datatrove_pipeline(jsonl, WORK, every)]},
        }

    record = {
        "benchmark": "ladder_bench",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "codemill": __version__,
        "peer": f"datatrove {version('datatrove')}",
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "workers": 1},
        "corpus": {
            "what": "sample corpus of `make run` (codemill sample-corpus), exported to JSONL",
            "limit": args.limit,
            "documents": docs,
            "text_bytes": nbytes,
            "export_seconds": round(exported, 1),
        },
        "datatrove_word_tokenizer": "regex words+punctuation (spaCy, datatrove's English default, not installed)",
        "results": results,
        "ratio_codemill_over_datatrove_docs_per_s": ratios,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(record, indent=2) + "\n")
    print(f"results: {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
