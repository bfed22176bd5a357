"""Level 3: the small LM's perplexity annotations, labels per language, and the distilled classifier round trip."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from helpers import STDLIB
from typer.testing import CliRunner

from codemill.cli import app
from codemill.curate.classify.annotate import label_by_quantile, sample_documents, scoring_text
from codemill.curate.classify.model import Classifier
from codemill.data.schema import Document
from codemill.llm.perplexity import PerplexityScorer


def test_scoring_text_skips_the_licence_header() -> None:
    text = "#!/usr/bin/env python\n# Copyright 2020 Someone\n# Licensed under...\n\nimport os\nprint(os.sep)\n"
    assert scoring_text(text) == "import os\nprint(os.sep)\n"
    assert scoring_text("/*\n * licence\n */\nint main() {}\n") == "int main() {}\n"
    assert scoring_text("# only a comment\n") == "# only a comment\n"


def test_labels_are_per_language_thirds_and_small_languages_are_pooled() -> None:
    rows = [{"id": f"py{i}", "lang": "python", "tokens": 10, "nll": float(i)} for i in range(9)]
    rows += [{"id": f"go{i}", "lang": "go", "tokens": 10, "nll": 10.0 + i} for i in range(9)]
    rows += [{"id": "lua0", "lang": "lua", "tokens": 10, "nll": 1.0}, {"id": "e", "lang": "c", "tokens": 0, "nll": 0}]
    labelled = {row["id"]: row["label"] for row in label_by_quantile(rows)}
    assert [labelled[f"py{i}"] for i in range(9)] == ["good"] * 3 + ["middle"] * 3 + ["bad"] * 3
    assert [labelled[f"go{i}"] for i in range(9)] == ["good"] * 3 + ["middle"] * 3 + ["bad"] * 3  # not all bad
    assert labelled["lua0"] == "middle" and labelled["e"] == "middle"  # a pool of one; unscorable
    with pytest.raises(ValueError, match="share"):
        label_by_quantile(rows, share=0.7)


def test_sample_is_chosen_by_id_not_by_order() -> None:
    docs = [Document(id=f"d{i}", text="x", kind="code" if i % 4 else "text") for i in range(40)]
    first = [d.id for d in sample_documents(docs, 5, seed=3)]
    shuffled = docs[:]
    random.Random(1).shuffle(shuffled)
    assert sorted(first) == sorted(d.id for d in sample_documents(shuffled, 5, seed=3))
    assert all(int(i[1:]) % 4 for i in first)  # only code
    assert first != [d.id for d in sample_documents(docs, 5, seed=4)]


@pytest.mark.slow
def test_real_code_is_less_surprising_than_the_same_words_shuffled() -> None:
    text = (STDLIB / "json" / "decoder.py").read_text()
    words = text.split()
    random.Random(0).shuffle(words)
    scorer = PerplexityScorer("smollm2", window=64, n_threads=1)
    real, shuffled = scorer.score(text), scorer.score(" ".join(words))
    scorer.close()
    assert real.tokens == shuffled.tokens == 63
    assert real.perplexity < shuffled.perplexity / 3


@pytest.mark.slow
def test_annotate_then_train_the_level_3_classifier(tmp_path: Path) -> None:
    files = sorted((STDLIB / "json").glob("*.py")) + sorted((STDLIB / "email").glob("*.py"))[:16]
    corpus = tmp_path / "docs.jsonl"
    with corpus.open("w") as out:
        for path in files:
            out.write(json.dumps({"id": path.name, "text": path.read_text(), "kind": "code", "lang": "python"}) + "\n")
    runner = CliRunner()
    annotated = tmp_path / "annotated.jsonl"
    result = runner.invoke(
        app,
        ["classifier", "annotate", "-i", str(corpus), "-o", str(annotated), "--sample", "18", "--window", "32"],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in annotated.read_text().splitlines()]
    assert len(rows) == 18 and all(row["tokens"] == 31 for row in rows)
    assert [row["label"] for row in rows].count("good") == 6 == [row["label"] for row in rows].count("bad")
    model = tmp_path / "lm_quality.ftz"
    trained = runner.invoke(
        app, ["classifier", "train", str(annotated), str(model), "--labels", "good,bad", "--min-count", "1"]
    )
    assert trained.exit_code == 0, trained.output
    assert "trained on 12 examples" in trained.output
    probabilities = Classifier(model).probabilities([rows[0]["text"]], "good")
    assert 0.0 <= probabilities[0] <= 1.0
