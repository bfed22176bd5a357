"""Code segments leave text documents; prose stays; what was removed is recorded."""

from __future__ import annotations

import sysconfig
from pathlib import Path

from codemill.curate.filters.code_removal import CodeRemoval, CodeRemovalParams, code_lines
from codemill.data.schema import Document

STEP = CodeRemoval(CodeRemovalParams())

MARKDOWN = """# Using decoder

The decoder turns JSON text into Python objects.

```python
import json
data = json.loads('{"a": 1}')
```

It raises an error on bad input, as the next section explains.

    for key, value in data.items():
        print(key, value)

That is all there is to it, really.
"""

RST = """Reading files
=============

Open the file first::

    with open("x") as f:
        text = f.read()

.. code-block:: python

    print(text)

Then close it when you are done with the whole thing.
"""


def test_fenced_indented_and_rst_blocks_are_removed() -> None:
    for text in (MARKDOWN, RST):
        doc = Document("d", text, kind="text")
        assert STEP.check(doc) is None
        assert "json.loads" not in doc.text and "print(" not in doc.text and "f.read()" not in doc.text
        assert "explains" in doc.text or "done with" in doc.text
        # the line model takes the blank line between two close blocks with them: one span or more
        assert doc.meta["code_removed"]["segments"] >= 1 and doc.meta["code_removed"]["chars"] > 30


def test_code_and_prose_only_documents() -> None:
    code = Document("c", MARKDOWN, kind="code")
    assert STEP.check(code) is None and code.text == MARKDOWN  # other kinds untouched
    prose = Document("p", "A plain paragraph of English prose without any code in it at all.\n" * 3, kind="text")
    assert STEP.check(prose) is None and "code_removed" not in prose.meta
    only_code = Document("o", "```\n" + "x = compute(1, 2)\n" * 20 + "```\n", kind="text")
    reason, detail = STEP.check(only_code)  # type: ignore[misc]
    assert reason == "all_code" and "characters were code" in detail


def test_unmarked_code_runs_on_real_python() -> None:
    source = (Path(sysconfig.get_paths()["stdlib"]) / "json" / "decoder.py").read_text().splitlines()[40:70]
    prose = ["This paragraph explains what the decoder does with the input it is given."] * 3
    lines = [*prose, "", *source, "", *prose]
    marks = code_lines(lines)
    assert not any(marks[:3]) and not any(marks[-3:])  # prose kept
    assert sum(marks) >= len([s for s in source if s.strip()]) // 3  # a good share of the code found


UNMARKED = """To count the words of a file, read it and split on whitespace. The helper below does that.

  const counts = new Map();
  for (const word of text.split(/\\s+/)) {
    counts.set(word, (counts.get(word) || 0) + 1);
  }
  return counts;

Sorting the map by count then gives the most frequent words first, which is what the report shows.
A sentence that mentions foo() stays where it is.
"""


def test_unmarked_code_goes_with_the_line_model_where_the_rules_leave_half_of_it() -> None:
    """No fence, no indent rule: the default detector (the shipped line model, decided in spans) removes the whole
    function and keeps both sentences, the one naming foo() included; the old line score leaves two lines."""
    by_model = Document("m", UNMARKED, kind="text")
    assert STEP.check(by_model) is None
    assert "counts" not in by_model.text and "mentions foo() stays" in by_model.text
    assert "Sorting the map" in by_model.text and "split on whitespace" in by_model.text
    by_rules = Document("r", UNMARKED, kind="text")
    assert CodeRemoval(CodeRemovalParams(detector="rules")).check(by_rules) is None
    assert "const counts = new Map();" in by_rules.text


def test_the_run_counts_what_was_removed_and_the_report_shows_examples(tmp_path: Path) -> None:
    from codemill.data.writers import write_jsonl
    from codemill.pipeline.recipe import parse_recipe
    from codemill.pipeline.run import curate
    from codemill.report import render_report

    docs = [Document(f"t{i}", UNMARKED, kind="text", lang="markdown") for i in range(3)]
    docs.append(Document("plain", "Only prose here, nothing to take out of it at all. " * 3, kind="text"))
    write_jsonl(docs, tmp_path / "text.jsonl.zst")
    recipe = parse_recipe({"name": "text", "steps": [{"step": "code_removal"}]})
    stats = curate(recipe, [tmp_path / "text.jsonl.zst"], tmp_path / "out", workers=1, progress=False)
    removed = stats["code_removed"]
    assert removed["documents"] == 3 and removed["segments"] == 3 and removed["chars"] > 300
    assert removed["examples"][0]["removed"].lstrip().startswith("const counts = new Map();")
    assert removed["examples"][0]["before"].startswith("To count the words")
    page = render_report(stats)
    assert "Code removed from text" in page and "const counts = new Map();" in page
