"""``mix`` and ``pack`` as the final steps of a recipe: same shards as the CLI pair, resumable, validated."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import STDLIB
from typer.testing import CliRunner

from codemill.curate.mix.cli import app as mix_app
from codemill.curate.mix.step import MixStep
from codemill.curate.pack.cli import app as pack_app
from codemill.curate.pack.step import PackStep
from codemill.data.samples_mixed import documentation_documents
from codemill.data.writers import write_jsonl
from codemill.pipeline.recipe import RecipeError, default_recipe_path, load_recipe
from codemill.pipeline.run import curate
from codemill.pipeline.runner import RunError
from codemill.report import render_report

RECIPE = """\
name: mix-and-pack
shards:
  target_bytes: 200000
steps:
  - step: format
    min_bytes: 10
  - step: mix
    ratio: {code: 8, text: 2}
    level_weights: {0: 1, 1: 2}
    max_repeats: 3
    seed: 5
  - step: pack
    seq_length: 1024
    shard_tokens: 65536
    fim: {rate: 0.6, spm_rate: 0.3, seed: 9}
    formats: [megatron, numpy]
"""
CLI_MIX = ["--ratio", "code=8,text=2", "--level-weights", "0=1,1=2", "--max-repeats", "3", "--seed", "5"]
CLI_PACK = ["--seq-length", "1024", "--shard-tokens", "65536", "--fim-rate", "0.6", "--spm-rate", "0.3", "--seed", "9"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Real code (standard-library packages as repositories) and real text (installed packages' documentation)."""
    root = tmp_path_factory.mktemp("corpus")
    for package in ("json", "email", "http"):
        shutil.copytree(STDLIB / package, root / "repos" / package, ignore=shutil.ignore_patterns("__pycache__"))
    text = [d for d in documentation_documents() if d.kind == "text"][:40]
    assert len(text) >= 20
    write_jsonl(text, root / "text.jsonl.zst")
    return [root / "repos", root / "text.jsonl.zst"]


def write_recipe(folder: Path, text: str = RECIPE) -> Path:
    path = folder / "recipe.yaml"
    path.write_text(text)
    return path


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path, except the reports that hold paths and timings."""
    skip = {"mix.json", "pack.json"}
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in skip
    }


def without(report: dict, *keys: str) -> dict:
    return {k: v for k, v in report.items() if k not in keys}


@pytest.fixture(scope="module")
def recipe_run(corpus: list[Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("run") / "out"
    recipe = load_recipe(write_recipe(out.parent))
    stats = curate(recipe, corpus, out, workers=1, progress=False)
    return out, stats


def test_the_recipe_makes_the_shards_the_cli_pair_makes(recipe_run: tuple[Path, dict], tmp_path: Path) -> None:
    out, stats = recipe_run
    runner = CliRunner()
    result = runner.invoke(mix_app, ["-i", str(out), "-o", str(tmp_path / "mix"), *CLI_MIX])
    assert result.exit_code == 0, result.output
    result = runner.invoke(pack_app, ["-i", str(tmp_path / "mix"), "-o", str(tmp_path / "packed"), *CLI_PACK])
    assert result.exit_code == 0, result.output

    assert files_of(out / "mix") == files_of(tmp_path / "mix")
    assert files_of(out / "packed") == files_of(tmp_path / "packed")
    assert any(name.endswith(".bin") for name in files_of(out / "packed"))
    step_mix = json.loads((out / "mix" / "mix.json").read_text())
    cli_mix = json.loads((tmp_path / "mix" / "mix.json").read_text())
    assert without(step_mix, "inputs") == without(cli_mix, "inputs")
    step_pack = json.loads((out / "packed" / "pack.json").read_text())
    cli_pack = json.loads((tmp_path / "packed" / "pack.json").read_text())
    assert without(step_pack, "seconds", "tokens_per_second") == without(cli_pack, "seconds", "tokens_per_second")

    # the summaries: in stats.json, and in the report
    final = stats["final_steps"]
    assert list(final) == ["mix", "pack"] and final["mix"]["folder"] == "mix" and final["pack"]["folder"] == "packed"
    assert final["mix"]["summary"]["achieved_ratio"] == step_mix["achieved_ratio"]
    assert set(step_mix["achieved_ratio"]) == {"code", "text"} and step_mix["output"]["rows"] > 0
    assert final["pack"]["summary"]["counts"] == step_pack["counts"]
    assert json.loads((out / "stats.json").read_text())["final_steps"] == final
    html = render_report(stats)
    assert 'id="final-mix"' in html and 'id="final-pack"' in html
    assert f"{step_pack['counts']['tokens']:,}" in html
    # final steps are no document steps: the counts and the curated data are those of the stages
    assert [s["name"] for s in stats["steps"]] == ["read", "format"]
    assert step_mix["documents_in"] == stats["documents_kept"]


def test_a_finished_final_step_is_not_redone(
    recipe_run: tuple[Path, dict], corpus: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    shutil.copytree(recipe_run[0], out)
    before = files_of(out / "mix") | {f"packed/{k}": v for k, v in files_of(out / "packed").items()}

    def refuse(self: object, inputs: Path, out_dir: Path) -> dict:
        raise AssertionError("a finished final step ran again")

    monkeypatch.setattr(MixStep, "run", refuse)
    monkeypatch.setattr(PackStep, "run", refuse)
    stats = curate(load_recipe(write_recipe(tmp_path)), corpus, out, workers=1, progress=False)
    assert stats["final_steps"] == recipe_run[1]["final_steps"]
    assert files_of(out / "mix") | {f"packed/{k}": v for k, v in files_of(out / "packed").items()} == before


def test_a_run_killed_in_pack_resumes_to_the_same_shards(
    recipe_run: tuple[Path, dict], corpus: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    shutil.copytree(recipe_run[0], out)
    expected = files_of(out / "packed")
    # as a kill in the middle of pack leaves it: no completion marker, a half-written shard, a temporary folder
    (out / "_run" / "done" / "final-1.json").unlink()
    (out / "packed" / "pack.json").unlink()
    first = sorted((out / "packed").glob("shard-00000.*"))[0]
    first.write_bytes(first.read_bytes()[:100])
    (out / "packed" / ".tmp-shard-00001").mkdir()
    (out / "packed" / ".tmp-shard-00001" / "shard-00001.bin").write_bytes(b"\0" * 10)

    def refuse(self: object, inputs: Path, out_dir: Path) -> dict:
        raise AssertionError("mix had finished: it must not run again")

    monkeypatch.setattr(MixStep, "run", refuse)
    stats = curate(load_recipe(write_recipe(tmp_path)), corpus, out, workers=1, progress=False)
    assert files_of(out / "packed") == expected
    assert (
        stats["final_steps"]["pack"]["summary"]["counts"] == recipe_run[1]["final_steps"]["pack"]["summary"]["counts"]
    )


def test_overwrite_clears_the_final_steps_folders(
    recipe_run: tuple[Path, dict], corpus: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(recipe_run[0], out)
    without_final = "\n".join(RECIPE.splitlines()[:6]) + "\n"  # format only
    stats = curate(
        load_recipe(write_recipe(tmp_path, without_final)), corpus, out, workers=1, progress=False, overwrite=True
    )
    assert stats["final_steps"] == {}
    assert not (out / "mix").exists() and not (out / "packed").exists()


def test_bad_final_step_options_name_the_line(tmp_path: Path) -> None:
    text = RECIPE.replace("max_repeats: 3", "max_repeats: 0").replace("{rate: 0.6,", "{rat: 0.6,")
    text += "  - step: format\n  - step: pack\n    level: function\n"
    path = write_recipe(tmp_path, text)
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    msg = str(info.value)
    assert f"{path}:10:5: steps[1].max_repeats: Input should be greater than or equal to 1 (got 0)" in msg
    assert f"{path}:15:11: steps[2].fim.rat: unknown key; allowed: rate, spm_rate, split, seed" in msg
    assert f"{path}:17:5: steps[3].step: 'format' comes after the final step at steps[1]" in msg
    assert (
        f"{path}:18:5: steps[4].step: a second 'pack' step writing packed/, steps[2]: final steps write one folder each"
        in msg
    )
    assert f"{path}:19:5: steps[4].level: Input should be 'file' or 'repo' (got 'function')" in msg


def test_the_default_recipe_ends_in_mix_then_pack() -> None:
    recipe = load_recipe(default_recipe_path())
    assert [s.step for s in recipe.steps][-3:] == ["mix", "pack", "pack"]
    mix, pack, repo = (s.params for s in recipe.steps[-3:])
    assert mix.ratio == {"code": 7, "text": 2, "math": 1}  # type: ignore[attr-defined]
    assert pack.window == 8192 and pack.fim.rate == 0.5 and pack.source == "previous"  # type: ignore[attr-defined]
    assert repo.window == 32768 and repo.level == "repo" and repo.source == "data"  # type: ignore[attr-defined]
    assert repo.kinds == ["code"] and repo.fim.rate == 0.5  # type: ignore[attr-defined]


def test_a_kind_the_corpus_lacks_is_reported_short(corpus: list[Path], tmp_path: Path) -> None:
    """The default 7:2:1 on a corpus without math: code and text keep their targets, math is short by all of it."""
    text = RECIPE.replace("ratio: {code: 8, text: 2}", "ratio: {code: 7, text: 2, math: 1}")
    stats = curate(load_recipe(write_recipe(tmp_path, text)), corpus, tmp_path / "out", workers=1, progress=False)
    mixed = stats["final_steps"]["mix"]["summary"]
    assert mixed["kinds"]["math"]["short"] and mixed["kinds"]["math"]["shortfall_pct"] == 100.0
    assert not mixed["kinds"]["code"]["short"] and not mixed["kinds"]["text"]["short"]
    assert any(w.startswith("math is short of its share") for w in mixed["warnings"])
    assert "math is short of its share" in render_report(stats)
    assert stats["final_steps"]["pack"]["summary"]["counts"]["documents"] == mixed["output"]["rows"]


def test_nothing_to_mix_is_a_one_line_run_error(corpus: list[Path], tmp_path: Path) -> None:
    text = RECIPE.replace("ratio: {code: 8, text: 2}", "ratio: {math: 1}")
    with pytest.raises(RunError, match=r"^step 'mix' \(mix/\): nothing to mix: no usable documents of kind math$"):
        curate(load_recipe(write_recipe(tmp_path, text)), corpus, tmp_path / "out", workers=1, progress=False)


def test_final_steps_report_the_documents_they_read(recipe_run: tuple[Path, dict]) -> None:
    """The final steps run in a worker; their bars move by the documents read, counted into a small file: mix
    reads the curated data twice (count, write), pack reads the mix once."""
    import pyarrow.parquet as pq

    from codemill.data.progress import read_progress
    from codemill.pipeline.run import input_rows
    from codemill.pipeline.runner import RunLayout

    out, stats = recipe_run
    layout = RunLayout(out)
    mix_read, pack_read = (read_progress(layout.final_progress(k)) for k in (0, 1))
    assert mix_read is not None and pack_read is not None
    kept = stats["documents_kept"]
    assert input_rows(out / "data") == kept and mix_read["documents"] == 2 * kept
    assert pack_read["documents"] == pq.read_table(out / "mix" / "data").num_rows == input_rows(out / "mix")
