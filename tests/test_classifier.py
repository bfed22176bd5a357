"""Level 2: fastText classifiers trained and evaluated on real files, the step in hard and soft mode, errors."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from helpers import REAL_SOURCES, STDLIB, recipe_with
from typer.testing import CliRunner

from codemill.curate.classify.cli import app
from codemill.curate.classify.model import Classifier, ClassifierError, shipped_models
from codemill.curate.classify.training import Example, TrainOptions, evaluate, read_labelled, train, write_labelled
from codemill.curate.filters.classifier import ClassifierFilter, ClassifierParams
from codemill.data.schema import Document
from codemill.pipeline.run import curate

STEP = "codemill.curate.filters.classifier:ClassifierFilter"
SMALL = TrainOptions(epoch=10, dim=16, bucket=50_000, min_count=1, quantize=False)


def _real_files(folder: Path, pattern: str, n: int) -> list[str]:
    paths = sorted(p for p in folder.glob(pattern) if p.is_file() and 300 < p.stat().st_size < 100_000)
    assert paths, f"no {pattern} under {folder}: run `make fixtures`"
    return [p.read_text(encoding="utf-8", errors="replace") for p in paths[:n]]


@pytest.fixture(scope="module")
def labelled() -> tuple[list[Example], list[Example]]:
    """good: hand-written code in five languages; bad: Perl's generated Unicode tables and minified copies."""
    good = [
        *_real_files(STDLIB / "json", "*.py", 8),
        *_real_files(STDLIB / "email", "*.py", 20),
        *_real_files(*REAL_SOURCES["cobra"], 20),
        *_real_files(*REAL_SOURCES["monolog"], 20),
        *_real_files(*REAL_SOURCES["penlight"], 20),
        *_real_files(Path("/usr/include"), "std*.h", 10),
    ]
    perl = REAL_SOURCES["perl-core"][0]
    bad = [
        *_real_files(perl / "unicore", "**/*.pl", 50),
        *(re.sub(r"\s+", " ", t) for t in good[1::2]),  # the same code, minified
    ]
    examples = [Example(t, "good") for t in good] + [Example(t, "bad") for t in bad]
    return examples[0::2], examples[1::2]  # interleaved train / test halves


def test_train_eval_round_trip_and_cli(tmp_path: Path, labelled: tuple[list[Example], list[Example]]) -> None:
    train_set, test_set = labelled
    write_labelled(tmp_path / "train.jsonl", train_set)
    write_labelled(tmp_path / "test.jsonl", test_set)
    assert read_labelled(tmp_path / "train.jsonl") == train_set

    model = train(read_labelled(tmp_path / "train.jsonl"), tmp_path / "m.bin", SMALL)
    again = train(train_set, tmp_path / "m2.bin", SMALL)
    assert model.read_bytes() == again.read_bytes()  # one thread, fixed seed: reproducible
    result = evaluate(model, test_set)
    assert result["examples"] == len(test_set)
    for label in ("good", "bad"):
        m = result["labels"][label]
        assert m["precision"] >= 0.85 and m["recall"] >= 0.85, result
        assert m["support"] == sum(ex.label == label for ex in test_set)

    runner = CliRunner()
    out = runner.invoke(app, ["train", str(tmp_path / "train.jsonl"), str(tmp_path / "cli.ftz"), "--epoch", "5",
                              "--dim", "16", "--bucket", "50000", "--test", str(tmp_path / "test.jsonl")])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "precision" in out.output and "good" in out.output and (tmp_path / "cli.ftz").is_file()
    out = runner.invoke(app, ["eval", str(model), str(tmp_path / "test.jsonl"), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == result


def test_labelled_file_errors_are_clear(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text('{"text": "x", "label": "a"}\n{"text": "y"}\n')
    with pytest.raises(ClassifierError, match=r"bad.jsonl:2: expected"):
        read_labelled(tmp_path / "bad.jsonl")
    with pytest.raises(ClassifierError, match="two labels"):
        train([Example("a b", "x")], tmp_path / "m.bin", SMALL)
    out = CliRunner().invoke(app, ["eval", "code_quality", str(tmp_path / "bad.jsonl")])
    assert out.exit_code == 2 and "bad.jsonl:2" in out.output


def test_shipped_code_quality_model_hard_and_soft() -> None:
    assert "code_quality" in shipped_models()
    assert shipped_models()["code_quality"].stat().st_size < 5_000_000
    hand = Document("h", (STDLIB / "json" / "decoder.py").read_text(), lang="python", path="decoder.py", quality=1)
    minified_text = Path("/usr/share/nodejs/lodash/lodash.min.js").read_text()

    hard = ClassifierFilter(ClassifierParams())
    hard.setup()
    assert hard.check(hand) is None
    assert hand.quality == 2 and hand.scores["code_quality"] >= 0.5

    minified = Document("m", minified_text, lang="javascript", path="lodash.min.js", quality=1)
    reason, detail = hard.check(minified)  # type: ignore[misc]
    assert reason == "low_code_quality" and "P(good)" in detail
    assert minified.quality == 1 and minified.scores["code_quality"] < 0.5

    soft = ClassifierFilter(ClassifierParams(mode="soft", score_name="cq", level=3))
    minified = Document("m", minified_text, lang="javascript", path="lodash.min.js", quality=1)
    kept, rejected = soft.process([minified, hand])
    assert [d.id for d in kept] == ["m", "h"] and rejected == []
    assert minified.quality == 1 and minified.scores["cq"] < 0.5 and hand.quality == 3

    only_text = ClassifierFilter(ClassifierParams(kinds=["text"]))
    code = Document("c", minified_text, lang="javascript")
    assert only_text.process([code]) == ([code], []) and code.scores == {}


def test_bad_model_path_or_label_gives_a_clear_error(tmp_path: Path) -> None:
    step = ClassifierFilter(ClassifierParams(model=str(tmp_path / "nope.ftz")))
    with pytest.raises(
        ClassifierError, match=r"nope.ftz' is neither a file nor a shipped model \(shipped: .*code_quality"
    ):
        step.setup()
    (tmp_path / "junk.ftz").write_text("not a model\n")
    with pytest.raises(ClassifierError, match="cannot load classifier model"):
        Classifier(tmp_path / "junk.ftz")
    with pytest.raises(ClassifierError, match=r"label 'great' is not one of the model's labels"):
        ClassifierFilter(ClassifierParams(positive="great")).setup()


def test_in_a_run_the_invariant_holds_hard_and_soft(tmp_path: Path) -> None:
    repo = tmp_path / "in" / "r"
    repo.mkdir(parents=True)
    for name in ("decoder.py", "encoder.py", "scanner.py"):
        shutil.copyfile(STDLIB / "json" / name, repo / name)
    shutil.copyfile("/usr/share/nodejs/lodash/lodash.min.js", repo / "lodash.min.js")
    soft = curate(recipe_with({"step": STEP, "mode": "soft"}), [tmp_path / "in"], tmp_path / "s", progress=False)
    assert soft["documents_kept"] == 4
    hard = curate(recipe_with({"step": STEP}), [tmp_path / "in"], tmp_path / "h", progress=False)
    assert hard["documents_kept"] == 3 and hard["steps"][-1]["reasons"] == {"low_code_quality": 1}
    kept = pq.read_table(sorted((tmp_path / "h" / "data").glob("*.parquet"))).to_pylist()
    assert {row["quality"] for row in kept} == {2}
    assert all(row["score_code_quality"] >= 0.5 for row in kept)


def test_a_failed_soft_level_stops_the_climb() -> None:
    from codemill.curate.filters.ladder import fail_level, pass_level

    doc = Document("d", "x")
    pass_level(doc, 1)
    fail_level(doc, 2)
    pass_level(doc, 3)  # passing a deeper level does not lift a document past the level it failed
    assert doc.quality == 1 and doc.meta["ladder_failed"] == 2
    skipped = Document("s", "x")
    pass_level(skipped, 2)  # a level the recipe did not run is no obstacle
    assert skipped.quality == 2
