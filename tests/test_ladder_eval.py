"""The ladder's evaluation set builder and its metrics (bench/ladder_eval.py), on real files, without the full set."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest
from helpers import STDLIB

ROOT = Path(__file__).resolve().parents[1]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ladder_eval", ROOT / "bench/ladder_eval.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ladder_eval"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


le = _load()
MINIFIED = Path("/usr/share/nodejs/lodash/lodash.min.js")


def test_confusion_counts_rejected_bad_as_positive() -> None:
    pairs = [(True, True)] * 3 + [(True, False)] + [(False, True)] + [(False, False)] * 5
    m = le.confusion(pairs)
    assert (m["tp"], m["fn"], m["fp"], m["tn"]) == (3, 1, 1, 5)
    assert m["precision"] == 0.75 and m["recall"] == 0.75
    assert le.confusion([])["precision"] == 0.0  # nothing rejected: no division by zero


def test_generated_and_vendored_are_named_by_place_not_text() -> None:
    assert le.generated_by_name(STDLIB / "encodings" / "cp037.py")
    assert not le.generated_by_name(STDLIB / "encodings" / "utf_8.py")
    assert not le.generated_by_name(STDLIB / "json" / "decoder.py")
    assert le.generated_by_name(Path("/x/include/internal/pycore_runtime_init_generated.h"))
    assert le.vendored(Path("/site-packages/pip/_vendor/rich/repr.py"))
    assert not le.vendored(STDLIB / "json" / "decoder.py")


def _folder(held: bool, root: Path) -> Path:
    """A folder under ``root`` that the classifier's split holds out (or trains on)."""
    for i in range(200):
        folder = root / f"pkg{i}"
        if le.tc.held_out(folder / "f.py") == held:
            folder.mkdir(parents=True)
            return folder
    raise AssertionError("no folder found")


def test_builder_keeps_out_training_folders_and_texts_and_duplicates(tmp_path: Path) -> None:
    held, trained = _folder(True, tmp_path), _folder(False, tmp_path)
    decoder, encoder, scanner = (STDLIB / "json" / n for n in ("decoder.py", "encoder.py", "scanner.py"))
    for folder in (held, trained):
        for src in (decoder, encoder, scanner):
            shutil.copyfile(src, folder / src.name)
    shutil.copyfile(MINIFIED, held / MINIFIED.name)
    shutil.copyfile(MINIFIED, trained / MINIFIED.name)
    exclusions = le.Exclusions(
        candidates={*held.iterdir(), *trained.iterdir()},
        texts={le._sha1(scanner.read_text(encoding="utf-8")[: le.tc.KEEP_CHARS])},  # a training row's text
    )
    sources = {
        ("good", "hand-written python"): sorted(p for p in [*held.iterdir(), *trained.iterdir()] if p.suffix == ".py"),
        ("bad", "minified"): [held / MINIFIED.name, trained / MINIFIED.name],
        ("bad", "again"): [held / "decoder.py"],  # the same file in a second source counts once
    }
    files = le.build_evaluation_set(per_source=10, exclusions=exclusions, sources=sources)
    got = {(f.label, f.source, f.path.name, f.path.parent == held) for f in files}
    assert got == {
        ("good", "hand-written python", "decoder.py", True),
        ("good", "hand-written python", "encoder.py", True),
        ("bad", "minified", "lodash.min.js", True),
    }
    assert {f.lang for f in files} == {"python", "javascript"}


def test_judge_and_report_on_real_files() -> None:
    recipe = le.load_recipe(le.RECIPE)
    rules, classifiers = le.configured_levels(recipe)
    files = [
        le.LabelledFile(MINIFIED, MINIFIED.read_text(encoding="utf-8"), "bad", "minified", "javascript"),
        le.LabelledFile(STDLIB / "json/decoder.py", (STDLIB / "json/decoder.py").read_text(), "good", "hw", "python"),
    ]
    verdicts = le.judge(files, rules, classifiers)
    assert verdicts[0].rejected_by["level 1"] and "long_lines" in {name for name, _ in verdicts[0].fired}
    assert not verdicts[1].rejected_by["levels 1+2"]
    assert set(verdicts[1].probs) == {c.score_name for c in classifiers}
    result = le.report(files, verdicts, show=2)
    assert result["overall"]["level 1"]["precision"] == pytest.approx(1.0)
    assert result["per_rule"]["long_lines"]["fired_on_bad"] == 1
    assert result["per_source"]["minified"]["rejected_share level 1"] == 1.0
