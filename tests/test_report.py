"""Tests for codemill.report: the self-contained HTML run report rendered from stats.json."""

from __future__ import annotations

import copy
import html as html_lib
import re
from pathlib import Path
from typing import Any

import pytest

from codemill.report import render_report, write_report
from codemill.report.plots import human_bytes, size_bucket_label

EXAMPLE: dict[str, Any] = {
    "codemill": "0.1.0",
    "recipe": "default",
    "documents_in": 1200,
    "documents_kept": 1000,
    "documents_rejected": 200,
    "bytes_in": 52000000,
    "bytes_kept": 41000000,
    "shards": 4,
    "seconds": 12.3,
    "steps": [
        {
            "name": "read",
            "in": 1200,
            "kept": 1150,
            "rejected": 50,
            "reasons": {"binary": 40, "too_large": 10},
            "bytes_in": 52000000,
            "bytes_kept": 50000000,
            "seconds": 3.1,
        },
        {
            "name": "format",
            "in": 1150,
            "kept": 1000,
            "rejected": 150,
            "reasons": {"empty": 100, "too_small": 50},
            "bytes_in": 50000000,
            "bytes_kept": 41000000,
            "seconds": 0.4,
        },
    ],
    "languages": {"python": {"documents": 800, "bytes": 30000000}, "unknown": {"documents": 3, "bytes": 10}},
    "kinds": {"code": 1000},
    "size_log2": {"7": 12, "10": 300, "14": 500},
}

EMPTY: dict[str, Any] = {
    "codemill": "0.1.0",
    "recipe": "default",
    "documents_in": 0,
    "documents_kept": 0,
    "documents_rejected": 0,
    "bytes_in": 0,
    "bytes_kept": 0,
    "shards": 0,
    "seconds": 0.0,
    "steps": [],
    "languages": {},
    "kinds": {},
    "size_log2": {},
}


@pytest.fixture(scope="module")
def page() -> str:
    return render_report(EXAMPLE)


def _text(page: str) -> str:
    """The page with tags removed and entities decoded, to look for what a reader sees."""
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", page))


def test_totals(page: str) -> None:
    assert "<title>codemill run report — default</title>" in page
    assert "0.1.0" in page
    for s in ("1,200", "1,000", "200", "83.3%", "16.7%", "52.0 MB", "41.0 MB", "12.30 s", "97.6 docs/s"):
        assert s in page, s
    assert "4.23 MB/s" in page  # 52e6 bytes / 12.3 s


def test_steps_reasons_languages_appear(page: str) -> None:
    for step in EXAMPLE["steps"]:
        assert f">{step['name']}<" in page
        for reason in step["reasons"]:
            assert f">{reason}<" in page
    for lang in EXAMPLE["languages"]:
        assert f">{lang}<" in page
    assert ">code<" in page
    assert "13.0%" in page  # format rejected 150 of 1150
    # Bucket 11 holds no documents but lies between buckets 7 and 14, so the histogram shows it empty.
    assert "1 KiB–2 KiB" in page


def test_reasons_sorted_by_count() -> None:
    stats = copy.deepcopy(EXAMPLE)
    stats["steps"][0]["reasons"] = {"a_rare": 1, "z_common": 49}
    page = render_report(stats)
    assert page.index(">z_common<") < page.index(">a_rare<")


def test_inline_svg_and_nothing_external(page: str) -> None:
    assert page.count("<svg") == 4  # funnel, rejections, languages, sizes
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert "@import" not in page
    assert not re.search(r"""url\(\s*['"]?(?!#)""", page)  # only local references like url(#clip1)
    assert "<script" not in page.lower() and "<link" not in page.lower()


def test_empty_run_renders() -> None:
    page = render_report(EMPTY)
    assert "<svg" not in page
    assert "nothing to plot" in page
    assert "—" in page  # percentages of zero are a dash, not a ZeroDivisionError
    assert "docs/s" not in page  # no throughput without time


def test_partial_and_unknown_keys_do_not_crash() -> None:
    stats = copy.deepcopy(EXAMPLE)
    stats["future_step_output"] = {"anything": [1, 2, 3]}
    stats["steps"].append({"name": "odd", "in": None, "reasons": {"x": "7"}})
    stats["size_log2"]["not-a-number"] = 5
    stats["languages"]["weird"] = "not a dict"
    page = render_report(stats)
    assert ">odd<" in page and ">future_step_output<" not in page
    assert render_report({}).startswith("<!DOCTYPE html>")


def test_user_data_is_escaped() -> None:
    stats = copy.deepcopy(EXAMPLE)
    evil = "<script>alert('x')</script>"
    stats["steps"][0]["reasons"] = {evil: 40, "costs $5 and $6": 5, "_hidden": 5}
    stats["languages"]["<b>lang</b>"] = {"documents": 1, "bytes": 99999999}
    stats["recipe"] = "<i>r</i>"
    page = render_report(stats)
    assert "<script" not in page.lower()
    assert "&lt;script&gt;" in page
    assert "<b>lang</b>" not in page and "&lt;b&gt;lang&lt;/b&gt;" in page
    assert "<i>r</i>" not in page
    assert evil in _text(page) and "costs $5 and $6" in _text(page)


def test_custom_title_is_escaped() -> None:
    page = render_report(EXAMPLE, title="Run & <friends>")
    assert "<title>Run &amp; &lt;friends&gt;</title>" in page


def test_deterministic() -> None:
    assert render_report(EXAMPLE) == render_report(copy.deepcopy(EXAMPLE))


def test_many_steps_and_languages() -> None:
    stats = copy.deepcopy(EXAMPLE)
    stats["steps"] = [
        {
            "name": f"s{i}",
            "in": 100,
            "kept": 90,
            "rejected": 10,
            "reasons": {f"r{j}": 1 for j in range(10)},
            "bytes_in": 1,
            "bytes_kept": 1,
            "seconds": 0.1,
        }
        for i in range(12)
    ]
    stats["languages"] = {f"lang{i:02d}": {"documents": i, "bytes": 1000 * i} for i in range(40)}
    page = render_report(stats)
    assert page.count("<svg") == 4
    assert all(f">lang{i:02d}<" in page for i in range(40))  # the table lists them all


def test_write_report(tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.html"
    assert write_report(EXAMPLE, target) == target
    assert target.read_text(encoding="utf-8") == render_report(EXAMPLE)
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]  # no temp file left behind
    write_report(EMPTY, target)  # replaces an existing report
    assert "nothing to plot" in target.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("bucket", "label"),
    [(0, "empty"), (1, "1 B"), (2, "2 B–4 B"), (10, "512 B–1 KiB"), (11, "1 KiB–2 KiB"), (21, "1 MiB–2 MiB")],
)
def test_size_bucket_label(bucket: int, label: str) -> None:
    assert size_bucket_label(bucket) == label
    if bucket:
        lo = 2 ** (bucket - 1)
        assert lo.bit_length() == bucket and (2**bucket - 1).bit_length() == bucket


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0 B"), (999, "999 B"), (1000, "1.0 KB"), (41_000_000, "41.0 MB"), (999_960, "1.0 MB")],
)
def test_human_bytes(n: int, text: str) -> None:
    assert human_bytes(n) == text


def test_score_histograms_mark_the_threshold_and_steps_are_named_by_their_models(tmp_path: Path) -> None:
    """A real run of two classifiers (the shipped code_quality and level3 models, soft mode) on Python and Go: the
    report shows a histogram per score with each step's threshold, one per language, and tells the two
    `classifier` steps apart by model."""
    from helpers import STDLIB

    from codemill.pipeline.recipe import parse_recipe
    from codemill.pipeline.run import curate

    recipe = parse_recipe(
        {
            "name": "scores",
            "steps": [
                {"step": "classifier", "model": "code_quality", "positive": "good", "threshold": 0.5, "mode": "soft"},
                {"step": "classifier", "model": "level3", "positive": "good", "threshold": 0.4, "mode": "soft"},
            ],
        }
    )
    repo = tmp_path / "repos" / "json"
    repo.mkdir(parents=True)
    for f in sorted((STDLIB / "json").glob("*.py")):
        (repo / f.name).write_text(f.read_text())
    for f in sorted(Path("/usr/share/gocode/src/github.com/spf13/cobra").glob("*.go"))[:6]:  # make fixtures
        (repo / f.name).write_text(f.read_text())
    stats = curate(recipe, [tmp_path / "repos"], tmp_path / "out", workers=1, progress=False)
    assert stats["step_labels"] == ["read", "classifier (code_quality)", "classifier (level3)"]
    assert stats["score_thresholds"] == {"code_quality": 0.5, "level3": 0.4}
    assert sum(stats["scores"]["code_quality"].values()) == stats["documents_kept"]
    per_language = {lang: sum(bins.values()) for lang, bins in stats["score_languages"]["level3"].items()}
    assert per_language == {"go": 6, "python": stats["documents_kept"] - 6}
    page = render_report(stats)
    assert "classifier (code_quality)" in page and "classifier (level3)" in page
    assert "threshold 0.5" in page and "threshold 0.4" in page and "score_code_quality of the kept" in page
    assert "score_level3 per language" in page


def test_progress_says_rates_and_kept_and_rejected_so_far() -> None:
    from codemill.pipeline.run import ShardRate

    rate = ShardRate()
    shard = {"steps": [{"in": 100, "bytes_in": 2_000_000, "kept": 90, "rejected": 10},
                       {"in": 90, "bytes_in": 1_800_000, "kept": 80, "rejected": 10}]}  # fmt: skip
    rate.add(shard)
    line = rate.add(shard)
    assert "docs/s" in line and "MB/s" in line and "kept 160" in line and "rejected 40" in line
