"""The line-level code detector: labels from marked documents, features, the span decision, the shipped model."""

from __future__ import annotations

import sysconfig
from pathlib import Path

from codemill.curate.classify.code_line_data import (
    BEGIN,
    CODE,
    END,
    PROSE,
    SKIP,
    label_html,
    label_man,
    label_markdown,
    label_pod,
    label_python,
    label_rest,
    line_scores,
    mark_roff,
)
from codemill.curate.filters.code_lines import MODEL, CodeLineDetector, SpanOptions, decide_spans, line_features

PROSE_LINES = [
    "The decoder reads the whole input before it returns anything to the caller.",
    "It is meant for small documents, and it keeps every value it has read in memory.",
    "When the input is malformed it raises an error that names the line and column.",
]


def test_markdown_fences_label_their_lines_and_are_deleted() -> None:
    text = "Intro line here.\n\n```python\nx = 1\n  y = 2\n```\n\n```text\noutput\n```\nAfter.\n"
    lines, labels = label_markdown(text)  # type: ignore[misc]
    assert "```python" not in lines and "```" not in lines
    assert labels[lines.index("x = 1")] == CODE and lines[lines.index("x = 1") + 1] == "  y = 2"
    assert labels[lines.index("output")] == SKIP  # output blocks are not code labels
    assert labels[lines.index("After.")] == PROSE
    assert label_markdown("No fences at all.\n") is None


def test_rest_literal_blocks_lose_their_marks() -> None:
    text = "Title\n=====\n\nRun this::\n\n    make all\n    make test\n\n.. code-block:: python\n   :linenos:\n\n"
    text += "   print(1)\n\n.. note::\n\n   A note.\n\nDone.\n"
    lines, labels = label_rest(text)  # type: ignore[misc]
    assert "Run this:" in lines and not any(x.endswith("::") for x in lines)
    assert not any(x.lstrip().startswith("..") or ":linenos:" in x for x in lines)
    assert labels[lines.index("make all")] == CODE and labels[lines.index("print(1)")] == CODE  # dedented
    assert labels[lines.index("   A note.")] == PROSE and labels[lines.index("Done.")] == PROSE


def test_man_examples_are_marked_but_not_macro_definitions() -> None:
    roff = ".de Vb\n.nf\n..\n.de Ve\n.fi\n..\n.SH SYNOPSIS\n.nf\nint f(void);\n.fi\n.SH EXAMPLES\n.EX\nf();\n.EE\n"
    marked = mark_roff(roff, "3").splitlines()
    assert marked[:6] == [".de Vb", ".nf", "..", ".de Ve", ".fi", ".."]  # untouched inside definitions
    assert marked.count(BEGIN) == 2 and marked.count(END) == 2
    rendered = f"HEAD\nSYNOPSIS\n{BEGIN}\n       int f(void);\n{END}\nEXAMPLES\n       Call it:\n{BEGIN}\n"
    rendered += f"           f();\n{END}\nFOOT\n"
    lines, labels = label_man(rendered, "3")  # type: ignore[misc]
    assert dict(zip(lines, labels, strict=True)) == {"SYNOPSIS": PROSE, "int f(void);": CODE,
                                                     "EXAMPLES": PROSE, "Call it:": PROSE, "f();": CODE}  # fmt: skip
    lines, labels = label_man(rendered.replace("SYNOPSIS\n", "SYNOPSIS\n       cmd [-x]\n"), "1")  # type: ignore[misc]
    assert labels[lines.index("cmd [-x]")] == SKIP  # a command's synopsis is neither


def test_html_pre_is_code_navigation_is_dropped() -> None:
    page = (
        "<html><head><title>T</title></head><body><nav><a>Chapter 1</a></nav><p>Some <code>x</code> text."
        "<br>More text.</p><pre><code>  fn main() {\n      run();\n  }\n</code></pre><p>After.</p></body></html>"
    )
    lines, labels = label_html(page)  # type: ignore[misc]
    assert "Chapter 1" not in lines and "Some x text." in lines and "More text." in lines
    assert labels[lines.index("fn main() {")] == CODE and lines[lines.index("fn main() {") + 1] == "    run();"


def test_pod_verbatim_is_code_and_formatting_codes_are_text() -> None:
    pod = "=head1 SYNOPSIS\n\n    use Foo;\n    Foo->new;\n\n=head2 Method\n\nCalls C<new> with B<no> args.\n\n=cut\n"
    lines, labels = label_pod(pod)  # type: ignore[misc]
    assert labels[lines.index("use Foo;")] == CODE and "SYNOPSIS" in lines
    assert "Calls new with no args." in lines and labels[lines.index("Calls new with no args.")] == PROSE


def test_python_file_read_as_text() -> None:
    source = '"""Module doc.\n\nMore words here.\n\n    indented example\n"""\n# a comment\nx = 1\n'
    lines, labels = label_python(source + "def f():\n    '''Doc.'''\n    return x\n" * 3) or ([], [])
    assert labels[lines.index("Module doc.")] == PROSE and labels[lines.index("a comment")] == PROSE
    assert labels[lines.index("indented example")] == SKIP and labels[lines.index("x = 1")] == CODE


def test_line_scores_count_only_labelled_non_blank_lines() -> None:
    lines, labels = ["a", "", "b", "c", "d"], [CODE, CODE, PROSE, SKIP, CODE]
    score = line_scores([(lines, labels, [True, True, True, True, False])])
    assert score == {"lines": 3, "code_lines": 2, "precision": 0.5, "recall": 0.5, "prose_lost_per_1000": 333.33}


def test_features_see_neighbours_and_skip_blank_lines() -> None:
    feats = line_features(["Some prose here.", "", "x = f(y)", "return x"])
    assert feats[1] == "" and "pblank" in feats[2] and "nTreturn" in feats[2] and "pnone" in feats[0]
    assert "Fsnake" in line_features(["my_var = 1"])[0]


def test_spans_keep_a_lone_code_like_line_and_take_a_run() -> None:
    options = SpanOptions(bias=0.0, switch=2.0, switch_blank=1.0)
    lone = [0.05, 0.05, 0.8, 0.05, 0.05]  # one line the model leans to call code, inside prose
    assert decide_spans(lone, options) == [False] * 5
    run = [0.05, None, *[0.9] * 5, 0.4, *[0.9] * 5, None, 0.05]  # a 12-line function, one weak line inside
    assert decide_spans(run, options) == [False, False, *[True] * 11, False, False]
    gap = [0.9, None, None, 0.9]
    assert decide_spans(gap, options) == [True] * 4  # blank lines inside a code span go with it
    assert decide_spans([None, None], options) == [False, False]


def test_shipped_model_removes_a_function_and_keeps_mentions() -> None:
    assert MODEL.is_file() and MODEL.stat().st_size < 2_000_000
    detector = CodeLineDetector()
    source = (Path(sysconfig.get_paths()["stdlib"]) / "json" / "decoder.py").read_text().splitlines()
    start = next(k for k, x in enumerate(source) if x.startswith("def py_scanstring"))
    function = [x for x in source[start : start + 60] if '"""' not in x][:30]
    mentions = [
        "To decode a document, call `json.loads(text)` and read the result; it returns a dict.",
        "The function py_scanstring(s, end) scans a string literal; see scanner.py for the rest.",
    ]
    lines = [*PROSE_LINES, "", *function, "", *mentions, "", *PROSE_LINES]
    marks = detector.code_lines(lines)
    code = [k for k, x in enumerate(lines) if x in function and x.strip()]
    assert sum(marks[k] for k in code) >= 0.8 * len(code)  # 25 of 29 found with the shipped model
    kept = [k for k, x in enumerate(lines) if x in PROSE_LINES or x in mentions]
    assert not any(marks[k] for k in kept)


def test_prose_full_of_symbols_is_not_code() -> None:
    """The case that fools a symbol counter: prose with inline code, arithmetic and brackets stays prose."""
    lines = [
        "Version 2.1 (released 2024-03-01) fixes a crash in parse(); see #1234 and [the notes].",
        "Costs rose 12% (from $3.50 to $3.92) while the rest stayed flat - about 1/3 of the gain.",
        "Set HOME=/tmp, run it again, and compare a[0] with b[0]: they differ by one.",
        *PROSE_LINES,
    ]
    assert not any(CodeLineDetector().code_lines(lines))
