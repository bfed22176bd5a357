"""Decontamination on real code: planted benchmark solutions are caught and explained, idioms are not."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from helpers import STDLIB, recipe_with

from codemill.benchmarks import decontamination_items
from codemill.pipeline.recipe import RecipeError, parse_recipe
from codemill.pipeline.run import curate


def rejected(out: Path) -> dict[str, dict]:
    rows = [r for f in sorted((out / "rejected").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    return {f"{r['repo']}/{r['path']}": r for r in rows if r["rejected_by"] == "decontaminate"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 clean stdlib files, and copies of a few with benchmark code pasted in, lightly edited."""
    root = tmp_path_factory.mktemp("decont")
    files = sorted(STDLIB.glob("*.py"))[:60]
    for f in files:
        (root / "clean" / f.name).parent.mkdir(parents=True, exist_ok=True)
        (root / "clean" / f.name).write_text(f.read_text())
    humaneval = {it.id: it for it in decontamination_items("humaneval")}
    mbpp = {it.id: it for it in decontamination_items("mbpp")}
    js = {it.id: it for it in decontamination_items("multipl-e") if it.id.startswith("multipl-e/js/")}
    planted = {
        "dirty/a.py": humaneval["humaneval/HumanEval/0"].text.replace("numbers", "values", 1),
        "dirty/b.py": mbpp["mbpp/Mbpp/2"].text.replace("similar_elements", "shared_items"),
        "dirty/c.js": js["multipl-e/js/HumanEval_23_strlen"].text,
    }
    for i, (name, snippet) in enumerate(planted.items()):
        host = files[i].read_text()
        cut = host.index("\n", len(host) // 2)
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(host[:cut] + "\n" + snippet + "\n" + host[cut:])
    return root


def test_planted_benchmarks_are_caught_and_clean_files_are_not(corpus: Path, tmp_path: Path) -> None:
    stats = curate(recipe_with({"step": "decontaminate"}), [corpus], tmp_path / "o", workers=2, progress=False)
    hits = rejected(tmp_path / "o")
    assert set(hits) == {"dirty/a.py", "dirty/b.py", "dirty/c.js"}
    assert hits["dirty/a.py"]["reason"] == "contaminated"
    assert hits["dirty/a.py"]["detail"].startswith("humaneval/HumanEval/0 on '")
    assert hits["dirty/b.py"]["detail"].startswith("mbpp/Mbpp/2 on '")
    assert (
        "multipl-e/js/HumanEval_23_strlen" in hits["dirty/c.js"]["detail"]
        or "HumanEval" in hits["dirty/c.js"]["detail"]
    )
    summary = stats["global_steps"]["decontaminate"]
    assert summary["contaminated_documents"] == 3 and summary["benchmark_items"] > 3500
    example = summary["items"]["humaneval/HumanEval/0"]["examples"][0]
    assert example["where"] == "dirty/a.py" and len(example["ngram"].split()) == 10


def test_ngrams_common_in_the_corpus_are_stoplisted(tmp_path: Path) -> None:
    snippet = next(iter(decontamination_items("humaneval"))).text
    host = (STDLIB / "json" / "decoder.py").read_text()
    for i in range(12):
        (tmp_path / "in" / "idioms" / f"f{i}.py").parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / "idioms" / f"f{i}.py").write_text(f"# copy {i}\n{snippet}\n{host}")
    stats = curate(recipe_with({"step": "decontaminate"}), [tmp_path / "in"], tmp_path / "o", progress=False)
    assert rejected(tmp_path / "o") == {}  # in 12 of 12 documents: an idiom of this corpus, not a leak
    assert stats["global_steps"]["decontaminate"]["stoplist"]["size"] > 10
    strict = recipe_with({"step": "decontaminate", "stoplist_min_docs": 50})
    curate(strict, [tmp_path / "in"], tmp_path / "s", progress=False)
    assert len(rejected(tmp_path / "s")) == 12


def test_function_names_and_user_benchmarks(tmp_path: Path) -> None:
    (tmp_path / "in" / "r").mkdir(parents=True)
    (tmp_path / "in" / "r" / "mine.py").write_text("def has_close_elements(xs, t):\n    return False\n")
    (tmp_path / "in" / "r" / "other.py").write_text((STDLIB / "json" / "scanner.py").read_text())
    bench = tmp_path / "bench.jsonl"
    secret = (STDLIB / "json" / "scanner.py").read_text().split("\n")[10:30]
    bench.write_text(json.dumps({"task_id": "T1", "question": "\n".join(secret), "answer": "42"}) + "\n")
    extra = [{"name": "mine", "path": str(bench), "fields": ["question", "answer"]}]
    recipe = recipe_with({"step": "decontaminate", "function_names": True, "extra": extra})
    curate(recipe, [tmp_path / "in"], tmp_path / "o", progress=False)
    hits = rejected(tmp_path / "o")
    assert hits["r/mine.py"]["detail"] == "humaneval/HumanEval/0: defines its entry point has_close_elements()"
    assert hits["r/other.py"]["detail"].startswith("mine/T1 on ")


def test_unknown_benchmark_is_refused() -> None:
    with pytest.raises(RecipeError, match="unknown benchmark 'gsm8k'"):
        parse_recipe({"steps": [{"step": "decontaminate", "benchmarks": ["gsm8k"]}]})
