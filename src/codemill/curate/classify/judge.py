"""Level 3's teacher: an LLM judge with a written rubric scores a sample of code files, for a small classifier to learn.

FineWeb-Edu's recipe adapted to code: an additive 0-5 rubric (a point per criterion met: real hand-written code,
clear names and structure, documentation that says why, care for correctness and reuse, exemplary), asked of an
embedded instruct model (Qwen2.5-Coder-1.5B-Instruct by default). The verdict is read from the model's
next-token distribution over the digits (:mod:`codemill.llm.choices`): the score is the expected value, one
forward pass of the prompt and no generation. Only the file's first ``max_chars`` are shown (after a leading
licence or comment block, which every file of a project shares and which says little about the code).

Annotations are cached in a JSONL file keyed by the document's id and text hash and the judge's identity, so a
killed run resumes where it stopped and a changed rubric or model is asked again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from codemill.curate.classify.annotate import scoring_text
from codemill.data.language_rules import rules_for
from codemill.data.schema import Document
from codemill.llm.choices import Choices
from codemill.llm.schema import Message

__all__ = ["RUBRIC", "Judge", "annotate_with_judge", "judge_prompt"]

DIGITS = [str(n) for n in range(6)]
RUBRIC = """Below is a source file written in {language}. Judge how useful it is as an example of good code for \
training a code model, with this additive 5-point scale. Start at 0 and add one point for each criterion the \
file meets:
- Add 1 point if it is real code that a person wrote to do something: not generated tables or data, not a \
minified or machine-written file, not only boilerplate such as a licence, imports or empty stubs.
- Add 1 point if the names of its functions, classes and variables say what they do or hold, and its structure \
is clear: functions of reasonable length, little nesting, no copy-pasted blocks.
- Add 1 point if it is documented: docstrings or comments explain what the code is for and why, not only what \
each line does.
- Add 1 point if it shows care for correctness and reuse: it checks its inputs or handles errors where it \
matters, and its pieces could be reused elsewhere.
- Add 1 point if it is outstanding: code a teacher could show as good practice in {language}, self-contained \
and easy to follow.

The file:
```{fence}
{code}
```

Reply with the total score only: one digit from 0 to 5."""
RUBRIC_VERSION = hashlib.sha256(RUBRIC.encode()).hexdigest()[:12]


class Judge(Protocol):
    identity: str

    def choose(self, messages: Sequence[Message], choices: Sequence[str]) -> Choices: ...


def judge_prompt(text: str, lang: str, max_chars: int = 3000) -> list[Message]:
    """The rubric with the file's first ``max_chars`` characters (from its first line of code)."""
    rules = rules_for(lang)
    title, fence = (rules.title, rules.fence) if rules is not None else (lang.capitalize(), lang)
    code = scoring_text(text)[:max_chars]
    return [Message("user", RUBRIC.format(language=title, fence=fence, code=code.rstrip()))]


def _key(doc_id: str, text: str, judge: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]
    return f"{judge}|{RUBRIC_VERSION}|{doc_id}|{digest}"


def annotate_with_judge(
    documents: Iterable[Document],
    judge: Judge,
    cache: Path,
    max_chars: int = 3000,
    on_done: Callable[[int, float], None] | None = None,
) -> list[dict[str, Any]]:
    """One row per document: id, lang, text, ``score`` (expected 0-5), the digits' probabilities and mass.

    Rows already in ``cache`` (same id, text, judge and rubric) are reused; each new row is appended and flushed
    as soon as it is scored. ``on_done(new rows scored, seconds of the last)`` reports progress."""
    known: dict[str, dict[str, Any]] = {}
    if cache.exists():
        for line in cache.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line torn by a kill: scored again
            known[row["key"]] = row
    rows = []
    cache.parent.mkdir(parents=True, exist_ok=True)
    with cache.open("a", encoding="utf-8") as out:
        for doc in documents:
            key = _key(doc.id, doc.text, judge.identity)
            row = known.get(key)
            if row is None:
                started = time.perf_counter()
                choices = judge.choose(judge_prompt(doc.text, doc.lang, max_chars), DIGITS)
                row = {
                    "key": key,
                    "id": doc.id,
                    "lang": doc.lang,
                    "score": round(choices.expected({d: float(d) for d in DIGITS}), 4),
                    "probabilities": {d: round(p, 4) for d, p in choices.probabilities.items()},
                    "mass": round(choices.mass, 4),
                    "prompt_tokens": choices.prompt_tokens,
                    "seconds": round(time.perf_counter() - started, 3),
                }
                out.write(json.dumps(row) + "\n")
                out.flush()
                known[key] = row
                if on_done is not None:
                    on_done(len(rows) + 1, row["seconds"])
            rows.append({**row, "text": doc.text})
    return rows
