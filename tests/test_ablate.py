"""codemill ablate: arms at one budget, held-out sets no arm sees, a lossless trimmed vocabulary, resumable runs."""

from __future__ import annotations

import json
import sysconfig
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import xxhash
from typer.testing import CliRunner

from codemill.ablate import engine as ablate_engine
from codemill.ablate.arms import arm_tokens, build_arm
from codemill.ablate.engine import AblationError, run_ablation
from codemill.ablate.heldout import is_heldout, split_corpus
from codemill.ablate.recipe import AblationRecipe, HeldoutSpec, load_ablation_recipe
from codemill.ablate.vocab import TrimmedVocab, count_tokens
from codemill.cli import app
from codemill.curate.pack.tokenizer import load_tokenizer
from codemill.data.schema import Document, Rejection, documents_to_table, rejections_to_table
from codemill.pipeline.recipe import RecipeError

STDLIB = Path(sysconfig.get_paths()["stdlib"])
PACKAGES = ["json", "email", "http", "xml/dom", "urllib", "logging", "concurrent/futures", "importlib", "asyncio"]


def _level(name: str) -> int:
    return xxhash.xxh64_intdigest(name.encode()) % 4


def _corpus() -> list[Document]:
    docs = []
    for package in PACKAGES:
        for path in sorted((STDLIB / package).glob("*.py"))[:8]:
            text = path.read_text(encoding="utf-8")
            if len(text) > 200:
                rel = f"{package}/{path.name}"
                docs.append(
                    Document(
                        id=f"code/{rel}", text=text[:6000], lang="Python", repo=package, path=rel, quality=_level(rel)
                    )
                )
    for package in PACKAGES:
        for i, path in enumerate(sorted((STDLIB / package).glob("*.py"))[:8]):
            words = path.read_text(encoding="utf-8").split('"""')
            body = words[1] if len(words) > 2 else "No documentation."
            docs.append(Document(id=f"text/{package}/{i}", text=f"About {package}: {body}", kind="text", lang="en"))
    for i in range(60):
        lines = [f"Problem: what is {a} plus {b}? Answer: {a + b}." for a in range(i, i + 6) for b in (i * 7, i + 3)]
        docs.append(Document(id=f"math/{i}", text="\n".join(lines), kind="math", lang="en"))
    return docs


def _write_curated(folder: Path, docs: list[Document]) -> Path:
    """A curated run's folder: level-0 documents were rejected by code_rules, one more by dedup."""
    for sub in ("data", "rejected"):
        (folder / sub).mkdir(parents=True)
    kept = [d for d in docs if d.kind != "code" or d.quality > 0]
    rejected = [Rejection(d, "rule", rejected_by="code_rules") for d in docs if d.kind == "code" and d.quality == 0]
    rejected.append(Rejection(Document(id="code/dup", text="x = 1\n" * 50, repo="dup"), "near", rejected_by="dedup"))
    pq.write_table(documents_to_table(kept), folder / "data" / "shard-00000.parquet")
    pq.write_table(rejections_to_table(rejected), folder / "rejected" / "shard-00000.parquet")
    return folder


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_curated(tmp_path_factory.mktemp("c") / "curated", _corpus())


def _recipe(curated: Path, **changes: object) -> AblationRecipe:
    data = {
        "name": "tiny",
        "curated": str(curated),
        "budget": 12_000,
        "max_repeats": 20,
        "arms": [
            {"name": "all", "min_level": 0},
            {"name": "deep", "min_level": 2},
            {"name": "code-only", "ratio": "10:0:0"},
            {"name": "mixed", "ratio": "7:2:1"},
        ],
        "heldout": {
            "code_repositories": 0.25,
            "text_documents": 0.2,
            "math_documents": 0.2,
            "max_documents": 20,
            "max_tokens_per_document": 256,
        },
        "model": {"layers": 1, "hidden": 16, "heads": 2, "kv_heads": 1, "intermediate": 32, "vocab": 200},
        "training": {"seq_length": 64, "batch_size": 4, "warmup_steps": 2, "seeds": [0, 1], "threads": 1},
    }
    data.update(changes)
    return AblationRecipe.model_validate(data)


def test_trimmed_vocabulary_spells_every_text_exactly() -> None:
    tokenizer = load_tokenizer("qwen2.5")
    source = (STDLIB / "json" / "decoder.py").read_text(encoding="utf-8")
    texts = [source, "naïve — 数学 ∑ x² 🙂", "def f():\n\treturn 1"]
    ids = [np.asarray(t, np.int64) for t in tokenizer.encode_arrays(texts)]
    vocab = TrimmedVocab.fit(count_tokens(None, ids[0]), 50)
    assert vocab.size == 256 + 1 + 50  # the bytes, <|endoftext|>, the kept tokens
    for text, tokens in zip(texts, ids, strict=True):
        mapped = vocab.map(tokens)
        assert mapped.max() < vocab.size
        assert vocab.decode_bytes(mapped) == tokenizer.normalize(text).encode("utf-8")
        assert vocab.byte_count(tokens) == len(tokenizer.normalize(text).encode("utf-8"))
    assert len(vocab.map(ids[0])) < sum(vocab.nbytes[ids[0]])  # the kept tokens do shorten the stream


def test_held_out_sets_are_whole_repositories_and_the_pool_is_decontaminated(curated: Path, tmp_path: Path) -> None:
    spec = HeldoutSpec(code_repositories=0.25, text_documents=0.2, math_documents=0.2, stoplist_min_docs=5)
    docs = _corpus()
    held = [d for d in docs if is_heldout(d, spec)]
    held_code = [d for d in held if d.kind == "code"]
    assert held_code and {d.kind for d in held} == {"code", "text", "math"}
    repos = {d.repo for d in held_code}
    assert all(is_heldout(d, spec) for d in docs if d.kind == "code" and d.repo in repos)  # every file of the repo
    # a pool document that copies half of a held-out file goes; documents that share only an idiom line with
    # held-out text (a line in stoplist_min_docs pool documents or more) stay
    pool_repo = next(f"vendor-{i}" for i in range(50) if not is_heldout(Document("x", "", repo=f"vendor-{i}"), spec))
    source = held_code[0].text
    copied = Document(id="code/copy", text="# vendored\n" + source[: len(source) // 2], repo=pool_repo, path="c")
    line = "# Licensed to the PSF under a contributor agreement, see the LICENSE file for details."
    planted = [Document(id="code/held-idiom", text=f"{line}\nx = 1\n", repo=held_code[0].repo, path="h")]
    planted += [
        Document(id=f"code/idiom-{i}", text=f"{line}\nvalue_{i} = {i}\n", repo=pool_repo, path=f"i{i}")
        for i in range(6)
    ]
    folder = _write_curated(tmp_path / "curated", [*docs, copied, *planted])
    held.append(planted[0])
    summary = split_corpus(folder, tmp_path / "split", spec)
    pool_ids = set()
    for part in (tmp_path / "split" / "pool").glob("*.parquet"):
        pool_ids.update(pq.read_table(part, columns=["id"]).column("id").to_pylist())
    assert not pool_ids & {d.id for d in held}
    assert "code/dup" not in pool_ids  # rejected by dedup: not a level-0 document
    assert any(d.id in pool_ids for d in docs if d.kind == "code" and d.quality == 0)  # code_rules' rejects join
    assert "code/copy" not in pool_ids
    assert {f"code/idiom-{i}" for i in range(6)} <= pool_ids
    assert summary["pool_documents"] + len(held) + summary["decontamination"]["removed"] == len(docs) + 8
    assert summary == split_corpus(folder, tmp_path / "split", spec)  # a finished split is reused


def test_every_arm_has_the_same_token_budget(curated: Path, tmp_path: Path) -> None:
    recipe = _recipe(curated)
    split_corpus(curated, tmp_path / "split", recipe.heldout)
    for arm in recipe.arms:
        summary = build_arm(arm, recipe, tmp_path / "split" / "pool", tmp_path / arm.name)
        assert abs(summary["tokens"] - recipe.budget) <= 1_500, arm.name  # within one document of the budget
        assert summary["packed_tokens"] == summary["tokens"] == len(arm_tokens(tmp_path / arm.name))
    every = json.loads((tmp_path / "all" / "mix" / "mix.json").read_text())
    assert every["levels"]["code"]["0"]["selected"] > 0  # the level-0 arm draws code_rules' rejects too
    deep = json.loads((tmp_path / "deep" / "mix" / "mix.json").read_text())
    assert set(deep["levels"]["code"]) >= {"0", "1"} and deep["levels"]["code"]["0"]["selected"] == 0
    assert deep["levels"]["code"]["1"]["selected"] == 0 and deep["levels"]["code"]["2"]["selected"] > 0
    mixed = json.loads((tmp_path / "mixed" / "arm.json").read_text())
    assert mixed["achieved_ratio"] == pytest.approx({"code": 0.7, "text": 0.2, "math": 0.1}, abs=0.05)


def test_a_run_resumes_per_arm_and_seed_and_no_held_out_document_is_in_any_arm(
    curated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe = _recipe(curated)
    out = tmp_path / "ablation"
    result = CliRunner().invoke(app, ["ablate", _write(recipe, tmp_path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "ablation.json").read_text())
    rows = [r for rows in summary["experiments"].values() for r in rows]
    assert [r["arm"] for r in rows] == ["all", "deep", "code-only", "mixed"]
    assert all(r["heldout_in_arm"] == 0 for r in rows)
    assert all(r["seeds"] == [0, 1] for r in rows)
    runs = sorted((out / "runs").rglob("seed-*.json"))
    assert len(runs) == 8
    same = [json.loads(p.read_text()) for p in sorted((out / "runs" / "code-only").glob("*.json"))]
    assert all(r["same_as"] == "all" for r in same)  # 10:0:0 is code at every level: one mix, trained once
    assert [r["heldout"] for r in same] == [
        json.loads(p.read_text())["heldout"] for p in sorted((out / "runs" / "all").glob("*.json"))
    ]
    tokens = {json.loads(p.read_text())["tokens_trained"] for p in runs}
    assert tokens == {recipe.steps * 4 * 64}  # every run trains on as many tokens
    first = json.loads(runs[0].read_text())
    assert set(first["heldout"]) == {"code", "text", "math"} and all(v["bpb"] > 0 for v in first["heldout"].values())
    assert "report.html" in result.output and (out / "report.html").read_text().count("<svg") == 2
    # a killed ablation: one run lost; the rerun trains that one alone, and gives the same numbers
    lost = out / "runs" / "deep" / "seed-1.json"
    before = json.loads(lost.read_text())
    lost.unlink()
    trained: list[tuple[int, int]] = []
    real = ablate_engine.train_run

    def counting(stream, vocab_size, recipe, seed, sets):  # type: ignore[no-untyped-def]
        trained.append((len(stream), seed))
        return real(stream, vocab_size, recipe, seed, sets)

    monkeypatch.setattr(ablate_engine, "train_run", counting)
    again = run_ablation(recipe, out)
    assert [seed for _, seed in trained] == [1]
    after = json.loads(lost.read_text())
    assert after["heldout"] == before["heldout"] and after["curve"] == before["curve"]
    assert again["experiments"] == summary["experiments"]


def test_a_folder_of_another_recipe_is_refused(curated: Path, tmp_path: Path) -> None:
    def one_arm(budget: int) -> AblationRecipe:
        training = {"seq_length": 64, "batch_size": 4, "seeds": [0], "threads": 1}
        return _recipe(curated, arms=[{"name": "all", "min_level": 0}], training=training, budget=budget)

    out = tmp_path / "ablation"
    run_ablation(one_arm(2_000), out)
    with pytest.raises(AblationError, match=r"another recipe.*budget"):
        run_ablation(one_arm(3_000), out)


def test_a_bad_recipe_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("arms:\n  - {name: both, min_level: 1, ratio: '7:2:1'}\n", encoding="utf-8")
    with pytest.raises(RecipeError, match=r"bad.yaml:2:.*either min_level.*or ratio"):
        load_ablation_recipe(path)


def _write(recipe: AblationRecipe, folder: Path) -> str:
    path = folder / "recipe.yaml"
    path.write_text(json.dumps(recipe.model_dump(mode="json")), encoding="utf-8")  # JSON is YAML
    return str(path)
