"""Build labelled "code-related text" vs "other text" from real files on this machine and train the text-code cascade.

Qwen2.5-Coder recalls text-code grounding data (documentation, tutorials, Q&A) from general web text with four
fastText-sized stages of increasing precision (its Figure 1: 582B -> 370B -> 147B -> 118B tokens); the report
does not say what each stage detects. Here each stage looks at the text differently, so a later stage is not
the earlier one with a stricter threshold:

1. ``text_code_words`` (view ``words``: lower-cased words, unigrams, threshold 0.2): coarse topic recall.
   Is the vocabulary that of software at all, whatever the layout?
2. ``text_code`` (view ``full``: words, punctuation and line layout, bigrams, threshold 0.5): the main
   code-relatedness classifier.
3. ``text_code_layout`` (view ``code``: line shapes with ordinary words hidden, keywords, punctuation and
   identifier-like tokens kept, trigrams, threshold 0.5): does the document *look* like code documentation
   (signatures, options, examples), not only talk about software?
4. ``text_code_grounded`` (view ``full``, threshold 0.5): trained on a stricter label, ``grounded`` = code-related
   *and* carrying code (at least ``MIN_CODE_LINES`` lines that ``code_removal.code_lines`` finds: fenced, reST
   literal, indented or unmarked code-like runs), so the last stage keeps text interleaved with code, which is
   what grounding data is for.

Labels are given by source, not by reading the documents:

* ``code`` (code-related text): Python packages' documentation in this interpreter's site-packages (``METADATA``
  long descriptions, README / ``.md`` / ``.rst``, via ``codemill.data.samples_mixed``), Debian documentation of
  programming packages (README / ``.md`` / ``.rst`` / ``.txt`` under ``/usr/share/doc`` of ``python3-*``,
  ``node-*``, ``golang-*``, ``librust-*``, ``lib*-perl``, ``ruby-*``, ``php-*``, ``lua-*``, compilers and tools),
  and section 3 man pages (C library and Perl module API docs) rendered to text by ``man``.
* ``other``: licence texts (``/usr/share/common-licenses``, ``/usr/share/doc/*/copyright``: legal prose),
  English news articles (the Lee corpus shipped in PyPI ``gensim==4.4.0``'s test data: ``lee_background.cor``,
  ``lee.cor``), Usenet posts from alt.atheism and sci.space (gensim's ``mini_newsgroup``, headers taken off),
  Debian packaging changelogs (about software but not documentation of code: the hard negatives, which a
  vocabulary-only stage lets through) and school math questions generated offline by ``mathematics-dataset``
  (math is its own kind).

Not all of ``code`` is equally code-related (some READMEs are release notes or install steps), and ``other`` has
no web prose beyond news and two newsgroups: the numbers measure separation of these sources, not of Common
Crawl. Identical texts are kept once. Sampling is sorted and seeded; the split is by group (a package,
a man page's module, a news file's block of 10 articles, a math module): 20% of groups are held out.

    .venv/bin/pip install gensim==4.4.0   # only for its shipped news articles
    .venv/bin/python scripts/train_text_code.py [--work /tmp/codemill-text-code]

Writes ``src/codemill/curate/filters/models/text_code*.ftz`` and ``bench/results/text_code.json``.
"""

from __future__ import annotations

import argparse
import copyreg
import gzip
import hashlib
import importlib.util
import io
import json
import os
import pickle
import platform
import random
import re
import subprocess
import sys
import sysconfig
import time
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codemill.curate.classify.features import View
from codemill.curate.classify.model import Classifier
from codemill.curate.classify.training import Example, TrainOptions, train, write_labelled
from codemill.curate.filters.code_removal import code_lines
from codemill.data.samples_mixed import documentation_documents, math_documents

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "src/codemill/curate/filters/models"
RESULTS = ROOT / "bench/results/text_code.json"
SEED = 20261127
MIN_CHARS = 300
KEEP_CHARS = 20_000
CHANGELOG_CHARS = 6_000  # a changelog's latest entries: older ones repeat the same shape
MIN_CODE_LINES = 3
SITE = Path(sysconfig.get_paths()["purelib"])
DOC = Path("/usr/share/doc")
MAN3 = Path("/usr/share/man/man3")
LICENCES = Path("/usr/share/common-licenses")
#: Debian packages whose documentation is about programming (by name)
PROGRAMMING = re.compile(
    r"^(python3?-|node-|golang-|librust-|lib.*-perl$|ruby-|php-|lua-|gcc|g\+\+|cpp|cmake|git$|gdb$|perl|"
    r"python3|ghc|rustc|cargo|golang|nodejs|ant$|maven|default-jdk|openjdk|binutils|make$|dpkg-dev|gdc|"
    r"libc6-dev|manpages-dev|libstd|libgcc)"
)
DOC_NAME = re.compile(r"(?i)^(readme.*|.*\.(md|rst|txt|markdown))(\.gz)?$")
NOT_DOCS = re.compile(r"(?i)^(changelog|news|copyright|license|licence|copying|authors|thanks|todo|credits)")

#: source -> (label, how many documents at most)
SOURCES: dict[str, tuple[str, int]] = {
    "pypi package docs": ("code", 700),
    "debian programming docs": ("code", 500),
    "man3 API pages": ("code", 300),
    "licences": ("other", 250),
    "news articles": ("other", 250),
    "newsgroup posts": ("other", 200),
    "debian changelogs": ("other", 250),
    "math questions": ("other", 250),
}
PER_PACKAGE = 4  # documents from one package at most, so a few big packages do not stand for all docs


@dataclass(frozen=True)
class Row:
    """One labelled document; ``group`` decides the held-out split (never split inside a group)."""

    text: str
    label: str
    source: str
    group: str


@dataclass(frozen=True)
class Stage:
    """One stage of the cascade: a model, the view it reads, the label it is trained on, and its threshold."""

    name: str
    view: View
    positive: str
    threshold: float
    options: TrainOptions
    why: str


STAGES: list[Stage] = [
    Stage("text_code_words", "words", "code", 0.2,
          TrainOptions(epoch=10, lr=0.3, word_ngrams=1, dim=16, bucket=100_000, min_count=2, cutoff=20_000,
                       view="words"),
          "coarse recall: software vocabulary in any layout"),
    Stage("text_code", "full", "code", 0.5,
          TrainOptions(epoch=15, lr=0.3, word_ngrams=2, dim=16, bucket=200_000, min_count=2, cutoff=30_000),
          "words, punctuation and line layout: the main code-relatedness classifier"),
    Stage("text_code_layout", "code", "code", 0.5,
          TrainOptions(epoch=15, lr=0.3, word_ngrams=3, dim=16, bucket=200_000, min_count=2, cutoff=20_000,
                       view="code"),
          "line shapes, keywords, punctuation, identifiers; ordinary words hidden"),
    Stage("text_code_grounded", "full", "grounded", 0.5,
          TrainOptions(epoch=15, lr=0.3, word_ngrams=2, dim=16, bucket=200_000, min_count=2, cutoff=30_000),
          f"code-related and carrying code (>= {MIN_CODE_LINES} code lines): text interleaved with code"),
]  # fmt: skip


# ------------------------------------------------------------------------------------------------ the sources


def _read(p: Path) -> str | None:
    """A file's UTF-8 text (gunzipped when ``.gz``), or None when it cannot be read as UTF-8."""
    try:
        raw = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
        return raw.decode("utf-8")
    except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile):
        return None


def _sample(items: list, n: int, tag: str, seed: int) -> list:
    """The same items for the same sorted input, seed and tag."""
    return list(items) if len(items) <= n else random.Random(f"{seed}:{tag}").sample(items, n)


def _per_group(rows: list[Row], n: int, seed: int) -> list[Row]:
    """At most ``n`` rows of each group, seeded."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.group, []).append(row)
    return [r for g in sorted(groups) for r in _sample(groups[g], n, f"group:{g}", seed)]


def pypi_docs(seed: int = SEED, cap: int = 0) -> list[Row]:
    """Python packages' documentation in site-packages (text kind only: formula-dense docs are math)."""
    rows = [
        Row(d.text[:KEEP_CHARS], "code", "pypi package docs", f"pypi:{d.repo.removeprefix('docs/').lower()}")
        for d in documentation_documents([SITE])
        if d.kind == "text" and len(d.text.strip()) >= MIN_CHARS
    ]
    return _per_group(rows, PER_PACKAGE, seed)


def debian_docs(seed: int = SEED, cap: int = 0) -> list[Row]:
    """README / Markdown / reST / text documentation of Debian's programming packages."""
    rows = []
    for pkg in sorted(p for p in DOC.iterdir() if p.is_dir() and PROGRAMMING.match(p.name)):
        for f in sorted(pkg.rglob("*")):
            if not f.is_file() or f.is_symlink() or not DOC_NAME.match(f.name) or NOT_DOCS.match(f.name):
                continue
            text = _read(f)
            if text and len(text.strip()) >= MIN_CHARS:
                rows.append(Row(text[:KEEP_CHARS], "code", "debian programming docs", f"deb:{pkg.name}"))
    return _per_group(rows, PER_PACKAGE, seed)


def render_man(page: Path) -> str | None:
    """A man page as plain text (``man -l``, 80 columns, overstrikes removed, the body's indent taken off).

    Sections are set at column 0 and their bodies at one indent (the most common); taking that indent off leaves
    only examples and synopses indented, as in a README, so ``has_code`` does not take every body for code."""
    env = {**os.environ, "MANWIDTH": "80", "MAN_KEEP_FORMATTING": "0", "LC_ALL": "C.UTF-8"}
    try:
        out = subprocess.run(["man", "-l", str(page)], capture_output=True, env=env, timeout=30, check=False)
        plain = subprocess.run(["col", "-bx"], input=out.stdout, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = plain.stdout.decode("utf-8", errors="replace")
    lines = text.splitlines()[1:-1]  # no running header and footer
    indents = Counter(len(x) - len(x.lstrip(" ")) for x in lines if x.strip() and x.startswith(" "))
    if not indents:
        return "\n".join(lines).strip() + "\n" if lines else None
    body = indents.most_common(1)[0][0]
    lines = [x[min(body, len(x) - len(x.lstrip(" "))) :] for x in lines]
    return "\n".join(lines).strip() + "\n"


def man3_pages(seed: int = SEED, cap: int = SOURCES["man3 API pages"][1]) -> list[Row]:
    """Section 3 man pages (C library calls, Perl modules), rendered; a page's group is its module or prefix.

    Only ``cap`` sampled pages are rendered (``man`` takes a few tenths of a second a page)."""
    pages = [p for p in sorted(MAN3.iterdir()) if p.is_file() and not p.is_symlink() and p.stat().st_size > 1500]
    rows = []
    for p in _sample(pages, cap, "man3", seed):
        text = render_man(p)
        if text and len(text.strip()) >= MIN_CHARS:
            group = re.split(r"::|_|\.", p.name)[0].lower()
            rows.append(Row(text[:KEEP_CHARS], "code", "man3 API pages", f"man:{group}"))
    return rows


def licences(seed: int = SEED, cap: int = 0) -> list[Row]:
    """Licence texts: the common licences and each package's ``copyright`` file (legal prose)."""
    rows = [Row(t[:KEEP_CHARS], "other", "licences", f"lic:{p.name}")
            for p in sorted(LICENCES.iterdir()) if p.is_file() and (t := _read(p))]  # fmt: skip
    for pkg in sorted(p for p in DOC.iterdir() if p.is_dir()):
        f = pkg / "copyright"
        if f.is_file() and (t := _read(f)) and len(t.strip()) >= MIN_CHARS:
            rows.append(Row(t[:KEEP_CHARS], "other", "licences", f"deb:{pkg.name}"))
    return rows


def _gensim_data() -> Path:
    """gensim's shipped test data, found without importing gensim."""
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("news articles and newsgroup posts need gensim's test data: .venv/bin/pip install gensim==4.4.0")
    return Path(next(iter(spec.submodule_search_locations))) / "test" / "test_data"


def news(seed: int = SEED, cap: int = 0) -> list[Row]:
    """English news articles, one a line, from the Lee corpus in gensim's shipped test data."""
    folder = _gensim_data()
    rows = []
    for name in ("lee_background.cor", "lee.cor"):
        for i, line in enumerate((folder / name).read_text(encoding="utf-8", errors="replace").splitlines()):
            if len(line.strip()) >= MIN_CHARS:
                rows.append(Row(line.strip() + "\n", "other", "news articles", f"news:{name}:{i // 10}"))
    return rows


class _NewsgroupUnpickler(pickle.Unpickler):
    """Reads gensim's ``mini_newsgroup`` (a pickled scikit-learn ``Bunch``) allowing only the classes it holds."""

    class Bunch(dict):
        """Stands for ``sklearn.datasets.base.Bunch``: a dict, which is all the file needs."""

    def find_class(self, module: str, name: str) -> Any:
        import numpy as np

        allowed = {
            ("copy_reg", "_reconstructor"): copyreg._reconstructor,
            ("__builtin__", "dict"): dict,
            ("__builtin__", "object"): object,
            ("sklearn.datasets.base", "Bunch"): self.Bunch,
            ("numpy.core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
        }
        if (module, name) not in allowed:
            raise pickle.UnpicklingError(f"{module}.{name} is not expected in mini_newsgroup")
        return allowed[(module, name)]


def newsgroups(seed: int = SEED, cap: int = 0) -> list[Row]:
    """Usenet posts (alt.atheism, sci.space) from gensim's ``mini_newsgroup``: bodies, headers off, by thread."""
    raw = zlib.decompress((_gensim_data() / "mini_newsgroup").read_bytes())
    bunch = _NewsgroupUnpickler(io.BytesIO(raw), encoding="latin-1").load()
    rows = []
    for post in bunch["data"]:
        head, _, body = post.partition("\n\n")
        subject = next((x[8:] for x in head.splitlines() if x.startswith("Subject:")), "")
        thread = re.sub(r"(?i)^(re:\s*)+", "", subject.strip()).lower()
        if len(body.strip()) >= MIN_CHARS:
            rows.append(Row(body.strip()[:KEEP_CHARS] + "\n", "other", "newsgroup posts", f"usenet:{thread}"))
    return rows


def changelogs(seed: int = SEED, cap: int = 0) -> list[Row]:
    """Debian packaging changelogs: about software, without code (hard negatives for a vocabulary-only stage)."""
    rows = []
    for pkg in sorted(p for p in DOC.iterdir() if p.is_dir()):
        f = pkg / "changelog.Debian.gz"
        if f.is_file() and not f.is_symlink() and (t := _read(f)) and len(t.strip()) >= MIN_CHARS:
            rows.append(Row(t[:CHANGELOG_CHARS], "other", "debian changelogs", f"deb:{pkg.name}"))
    return rows


def math_questions(seed: int = SEED, cap: int = SOURCES["math questions"][1]) -> list[Row]:
    """School math questions and answers from mathematics-dataset, a few to a document, grouped by generator."""
    docs, _ = math_documents(problems=cap * 6, per_document=6, seed=seed % 2**31)
    return [Row(d.text, "other", "math questions", f"math:{d.path.split('/')[1].rsplit('-', 1)[0]}") for d in docs]


#: source -> builder(seed, cap): the costly builders (man pages, math) make only about ``cap`` documents
BUILDERS: dict[str, Callable[[int, int], list[Row]]] = {
    "pypi package docs": pypi_docs,
    "debian programming docs": debian_docs,
    "man3 API pages": man3_pages,
    "licences": licences,
    "news articles": news,
    "newsgroup posts": newsgroups,
    "debian changelogs": changelogs,
    "math questions": math_questions,
}


def build(sources: Sequence[str] | None = None, seed: int = SEED, limit: int | None = None) -> list[Row]:
    """The labelled rows: each source sampled (seeded) to its cap (or ``limit``), identical texts kept once."""
    rows: list[Row] = []
    seen: set[str] = set()
    for source in sources or list(SOURCES):
        cap = SOURCES[source][1] if limit is None else limit
        unique = []
        for row in BUILDERS[source](seed, cap):
            digest = hashlib.sha1(" ".join(row.text.split()).encode()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                unique.append(row)
        rows.extend(_sample(unique, cap, f"source:{source}", seed))
    return rows


def held_out(row: Row) -> bool:
    """The split: by group, so a package's several documents never straddle train and test."""
    return hashlib.sha1(row.group.encode()).digest()[0] % 5 == 0


def has_code(text: str) -> bool:
    """Whether the text carries code: at least ``MIN_CODE_LINES`` lines that code removal would take out."""
    return sum(code_lines(text.splitlines())) >= MIN_CODE_LINES


def stage_label(row: Row, stage: Stage) -> str:
    """The label a stage is trained on: ``grounded`` needs code-related text that carries code."""
    if stage.positive == "grounded":
        return "grounded" if row.label == "code" and has_code(row.text) else "other"
    return row.label


# ------------------------------------------------------------------------------------------------- evaluation


def _pr(kept: list[bool], positive: list[bool]) -> dict[str, float | int]:
    tp = sum(k and p for k, p in zip(kept, positive, strict=True))
    fp = sum(k and not p for k, p in zip(kept, positive, strict=True))
    fn = sum(p and not k for k, p in zip(kept, positive, strict=True))
    return {
        "kept": sum(kept),
        "precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
        "recall": round(tp / (tp + fn), 4) if tp + fn else 0.0,
    }


def evaluate_cascade(test: list[Row], probs: dict[str, list[float]]) -> dict:
    """Each stage alone and the cascade up to it: kept, precision and recall of ``code`` (and of ``grounded``)."""
    code = [r.label == "code" for r in test]
    grounded = [r.label == "code" and has_code(r.text) for r in test]
    alive = [True] * len(test)
    out = []
    for stage in STAGES:
        passed = [p >= stage.threshold for p in probs[stage.name]]
        before = sum(alive)
        alive = [a and p for a, p in zip(alive, passed, strict=True)]
        by_source: Counter[str] = Counter(r.source for r, a in zip(test, alive, strict=True) if a)
        own_label = grounded if stage.positive == "grounded" else code
        out.append(
            {
                "stage": stage.name,
                "view": stage.view,
                "positive": stage.positive,
                "threshold": stage.threshold,
                "alone": {"vs_own_label": _pr(passed, own_label), "vs_code": _pr(passed, code)},
                "cascade": {
                    "in": before,
                    "survival": round(sum(alive) / len(test), 4),
                    "chars_kept": sum(len(r.text) for r, a in zip(test, alive, strict=True) if a),
                    "vs_code": _pr(alive, code),
                    "vs_grounded": _pr(alive, grounded),
                    "kept_by_source": dict(sorted(by_source.items())),
                },
            }
        )
    return {
        "stages": out,
        "test_by_source": dict(sorted(Counter(r.source for r in test).items())),
        "test_chars": sum(len(r.text) for r in test),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/codemill-text-code"), help="labelled JSONL here")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    rows = build()
    train_rows = [r for r in rows if not held_out(r)]
    test_rows = [r for r in rows if held_out(r)]
    for name, part in (("train", train_rows), ("test", test_rows)):
        with (args.work / f"text_code.{name}.jsonl").open("w", encoding="utf-8") as f:
            for r in part:
                f.write(json.dumps(r.__dict__, ensure_ascii=False) + "\n")
    built = time.perf_counter() - start
    results: dict = {
        "fasttext": "fasttext-community 0.11.9",
        "python": platform.python_version(),
        "news_from": "gensim==4.4.0 test data (lee_background.cor, lee.cor)",
        "seed": SEED,
        "split": "by group (package, man page module, block of 10 news articles, math module), sha1 % 5 == 0 held out",
        "train_by_source": dict(sorted(Counter(r.source for r in train_rows).items())),
        "seconds": {"build_sets": round(built, 1)},
        "models": {},
    }
    probs: dict[str, list[float]] = {}
    for stage in STAGES:
        examples = [Example(r.text, stage_label(r, stage)) for r in train_rows]
        write_labelled(args.work / f"{stage.name}.train.jsonl", examples)
        options = TrainOptions(**{**stage.options.__dict__, "seed": SEED % 2**31})
        t0 = time.perf_counter()
        model = train(examples, MODELS / f"{stage.name}.ftz", options)
        clf = Classifier(model, stage.view)
        probs[stage.name] = clf.probabilities([r.text for r in test_rows], stage.positive)
        results["models"][stage.name] = {
            "model": str(model.relative_to(ROOT)),
            "bytes": model.stat().st_size,
            "why": stage.why,
            "train": dict(Counter(ex.label for ex in examples)),
            "options": options.__dict__,
            "train_seconds": round(time.perf_counter() - t0, 1),
        }
    results["held_out"] = evaluate_cascade(test_rows, probs)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results["held_out"], indent=2))


if __name__ == "__main__":
    main()
