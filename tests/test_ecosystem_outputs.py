"""A curate run's Parquet outputs load as they are in tools nobody on the project wrote: Hugging Face ``datasets``
(eager and streaming) and datatrove's ``ParquetReader``, over every shard of ``data/``, ``rejected/`` (stage 0 and
a global step's stage) and ``mix/data/`` at once, scores included, with shards whose documents fell before
different steps (so their scores differ) in the same table."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from helpers import STDLIB, recipe_with

from codemill.data.samples_mixed import documentation_documents
from codemill.data.writers import write_jsonl
from codemill.pipeline.run import curate

STEPS = (
    {"step": "format", "min_bytes": 10},
    {"step": "code_rules", "mode": "hard"},
    {"step": "classifier", "model": "code_quality", "mode": "soft", "kinds": ["code"]},
    {"step": "dedup"},
    {"step": "mix", "ratio": {"code": 8, "text": 2}, "unit": "bytes", "max_repeats": 2, "seed": 1},
)
SCORES = ["score_format", "score_rules", "score_code_quality"]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real run over a folder laid out like ``make run``'s sample corpus: linked repositories under
    ``repos/`` (standard-library packages, one with a copy of a file for dedup, a binary for the reader and
    minified code for the rules) and
    package documentation as ``text.jsonl.zst`` beside them, read with ``-i`` on the folder."""
    root = tmp_path_factory.mktemp("eco")
    corpus, sources = root / "corpus", root / "sources"
    (corpus / "repos").mkdir(parents=True)
    for package in ("json", "email"):
        shutil.copytree(STDLIB / package, sources / package, ignore=shutil.ignore_patterns("__pycache__"))
        (corpus / "repos" / package).symlink_to(sources / package, target_is_directory=True)
    shutil.copyfile(STDLIB / "json" / "decoder.py", sources / "email" / "decoder_copy.py")  # dedup removes one
    (sources / "email" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))  # the reader rejects it
    shutil.copyfile("/usr/share/nodejs/lodash/lodash.min.js", sources / "email" / "lodash.min.js")  # code_rules does
    write_jsonl([d for d in documentation_documents() if d.kind == "text"][:30], corpus / "text.jsonl.zst")
    stats = curate(recipe_with(*STEPS, shards={"target_bytes": 150_000}), [corpus], root / "out", progress=False)
    assert stats["shards"] > 2 and stats["documents_kept"] > 0
    return root / "out"


def shards(folder: Path) -> list[str]:
    files = sorted(str(p) for p in folder.glob("*.parquet"))
    assert files, f"no shards in {folder}"
    return files


def folders(out: Path) -> dict[str, Path]:
    return {"data": out / "data", "rejected": out / "rejected", "mix": out / "mix" / "data"}


def test_the_run_has_shards_with_different_scores(run: Path) -> None:
    rejected = pq.read_table(shards(run / "rejected")).to_pylist()
    by_step = {r["rejected_by"]: r for r in rejected}
    assert {"read", "code_rules", "dedup"} <= set(by_step)
    assert all(by_step["read"][c] is None for c in SCORES)  # fell before any step scored it
    assert by_step["code_rules"]["score_format"] == 1.0 and by_step["code_rules"]["score_rules"] == 0.0
    assert by_step["dedup"]["score_rules"] == 1.0  # fell in stage 1, after every scoring step
    assert any(p.name.startswith("stage1-") for p in (run / "rejected").glob("*.parquet"))
    kept = pq.read_table(shards(run / "data")).to_pylist()
    assert all(r["score_code_quality"] is not None for r in kept if r["kind"] == "code")
    assert all(r["score_code_quality"] is None for r in kept if r["kind"] == "text")  # kinds: [code] only


@pytest.mark.parametrize("which", ["data", "rejected", "mix"])
def test_hugging_face_datasets_loads_every_shard_as_it_is(
    run: Path, which: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import datasets

    files = shards(folders(run)[which])
    expected = pq.read_table(files).to_pylist()
    ds = datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=str(tmp_path / "hf"))
    assert ds.num_rows == len(expected)
    assert all(ds.features[c] == datasets.Value("float64") for c in SCORES)
    assert ds["id"] == [r["id"] for r in expected]
    for column in SCORES:
        assert ds[column] == [r[column] for r in expected]
    streamed = datasets.load_dataset("parquet", data_files=files, split="train", streaming=True)
    assert [r["id"] for r in streamed] == [r["id"] for r in expected]
    only = datasets.load_dataset("parquet", data_files=files, split="train", columns=["id", "score_rules"])
    assert only.column_names == ["id", "score_rules"]


@pytest.mark.parametrize("which", ["data", "rejected", "mix"])
def test_datatrove_parquet_reader_gets_scores_as_numbers(run: Path, which: str) -> None:
    from datatrove.pipeline.readers import ParquetReader

    folder = folders(run)[which]
    expected = {r["id"]: r for r in pq.read_table(shards(folder)).to_pylist()}
    docs = list(ParquetReader(str(folder), glob_pattern="*.parquet").run())
    with_text = sorted(i for i, r in expected.items() if r["text"])  # datatrove skips a document without text
    assert sorted(d.id for d in docs) == with_text and len(with_text) >= len(expected) - 2  # (the binaries')
    for doc in docs:
        row = expected[doc.id]
        assert doc.text == row["text"]
        for column in SCORES:
            value = doc.metadata[column]
            assert value == row[column] and (value is None or isinstance(value, float))


CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def test_dpo_rows_are_trls_conversational_preferences_and_get_the_chat_template(tmp_path: Path) -> None:
    """TRL applies the model's chat template to ``dpo.jsonl`` rows as it does to ``sft.jsonl``; the plain-string
    rows written before were taken as standard (untemplated) text."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast
    from trl.data_utils import is_conversational, maybe_apply_chat_template

    from codemill.synth.outputs import write_outputs
    from codemill.synth.schema import Attempt, Candidate, Outcome, Target, Verification

    def attempt(answer: str, status: str) -> Attempt:
        return Attempt(answer, answer, Verification(True, [], status, ""))

    candidate = Candidate(
        id="c1",
        agent="python",
        language="python",
        target=Target("python", "strings", "easy"),
        seed_id="seed",
        instruction="Write count_vowels(word).",
        tests="assert count_vowels('Hello') == 2",
        attempts=[attempt("return 0", "failed"), attempt("return sum(c in 'aeiou' for c in word)", "passed")],
        transcript=[],
    )
    write_outputs([Outcome(candidate, accepted=True)], tmp_path)
    [row] = [json.loads(line) for line in (tmp_path / "dpo.jsonl").read_text().splitlines()]
    assert is_conversational(row)
    assert not is_conversational({k: v[0]["content"] if isinstance(v, list) else v for k, v in row.items()})
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(WordLevel({"[UNK]": 0}, unk_token="[UNK]")))
    tokenizer.chat_template = CHATML
    templated = maybe_apply_chat_template(row, tokenizer)
    assert templated["prompt"] == "<|im_start|>user\nWrite count_vowels(word).<|im_end|>\n<|im_start|>assistant\n"
    assert templated["chosen"].startswith("return sum(") and templated["chosen"].endswith("<|im_end|>\n")
    assert templated["rejected"] == "return 0<|im_end|>\n"
    sft = json.loads((tmp_path / "sft.jsonl").read_text().splitlines()[0])
    assert sft["messages"] == row["prompt"] + row["chosen"]  # the same conversation as the SFT sample


def test_people_read_pass_at_k_in_percent_from_the_fractions() -> None:
    from codemill.report.eval_html import render_eval_report
    from codemill.report.loop_html import render_loop_report

    entry = {"pass@1": 6 / 164, "tasks": 164, "samples": 164, "n": 1, "statuses": {"passed": 6, "failed": 158}}
    assert "3.66" in render_eval_report({"humaneval": entry}, [])
    summary = {"config": {"n": 1, "model": "smollm2"}, "humaneval": entry}  # summary.json as the loop reads it
    rounds = [{"round": 0, "model": "smollm2", "eval": {"summary": summary, "generation": {}}}]
    assert "3.66" in render_loop_report({"rounds": rounds})
