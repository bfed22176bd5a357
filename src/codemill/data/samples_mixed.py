"""Text and math documents for the ``make run`` corpus, so that a mix has all three kinds from what the machine has.

* **text**: the documentation installed packages ship: each ``*.dist-info/METADATA`` long description (the
  package's README as PyPI shows it) and the ``README*``, ``*.md`` and ``*.rst`` files inside site-packages
  (licences and test data left out). ``kind="text"``, ``lang`` markdown / restructuredtext / text.
* **math**: school-level questions with answers generated offline by DeepMind's ``mathematics-dataset``
  (PyPI ``mathematics-dataset==1.0.1``: algebra, arithmetic, calculus, comparison, measurement, numbers,
  polynomials, probability), grouped a few dozen to a document (``Question: …\\nAnswer: …``), ``kind="math"``.
  It was written for sympy < 1.6: ``sympy.solvers.diophantine.base_solution_linear`` moved, and a shim puts it
  back before import; 10 of its 56 generators still fail on NumPy 2 (``np.object``, ``ndarray.itemset``) and
  are skipped and counted. Text documentation dense in formulas (``:math:``, ``$$``, ``\\frac``...) is math too.

Generation is deterministic for a seed (in a child process with fixed hashing and seeded random states;
the ``*_composed`` generators are left out: they order entities by object identity, which varies from run to
run). Output: JSONL files that ``codemill curate`` / ``mix`` read as they are.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import re
import site
import subprocess
import sys
import sysconfig
import warnings
from collections.abc import Iterator
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

from codemill.data.readers import stable_id
from codemill.data.schema import Document
from codemill.data.writers import write_jsonl

DOC_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".rst": "restructuredtext", ".txt": "text"}
SKIP_PARTS = {"tests", "test", "testing", "licenses", "license", "node_modules", "sample_data", "fonts"}
MATH_MARKERS = re.compile(
    r":math:|\$\$|\\frac|\\sum|\\int|\\sqrt|\\alpha|\\beta|\\lambda|\\mathbb|\\begin\{(align|equation)"
)
MATH_DENSITY = 1.0  # markers per 1,000 characters that make a document math rather than text
MIN_CHARS = 200


def _site_packages() -> list[Path]:
    roots = {*site.getsitepackages(), sysconfig.get_paths()["purelib"]}
    return [Path(p) for p in sorted(roots) if Path(p).is_dir()]


def _kind_of(text: str) -> str:
    return "math" if len(MATH_MARKERS.findall(text)) * 1000 / max(1, len(text)) >= MATH_DENSITY else "text"


def documentation_documents(roots: list[Path] | None = None) -> Iterator[Document]:
    """Package documentation under ``roots`` (default: this interpreter's site-packages), sorted, deterministic."""
    for root in roots or _site_packages():
        for meta in sorted(root.glob("*.dist-info/METADATA")):
            raw = meta.read_text(encoding="utf-8", errors="replace")
            message = HeaderParser().parsestr(raw)
            body = message.get_payload() or message.get("Description") or ""
            if not isinstance(body, str) or len(body.strip()) < MIN_CHARS:
                continue
            content_type = (message.get("Description-Content-Type") or "").lower()
            lang = "markdown" if "markdown" in content_type else "restructuredtext" if "rst" in content_type else "text"
            name = message.get("Name") or meta.parent.name.split("-")[0]
            path = f"{meta.parent.name}/METADATA"
            yield Document(
                id=stable_id(f"docs/{name}", path),
                text=body.strip() + "\n",
                kind=_kind_of(body),
                lang=lang,
                repo=f"docs/{name}",
                path=path,
                meta={"source": "dist-info METADATA long description"},
            )
        for file in sorted(root.rglob("*")):
            rel = file.relative_to(root)
            suffix = file.suffix.lower()
            if (
                not file.is_file()
                or ".dist-info" in rel.parts[0]
                or any(p.lower() in SKIP_PARTS or p.startswith(".") for p in rel.parts[:-1])
                or file.name.upper().startswith(("LICENSE", "LICENCE", "COPYING", "AUTHORS"))
                or not (suffix in (".md", ".markdown", ".rst") or file.name.upper().startswith("README"))
            ):
                continue
            text = file.read_text(encoding="utf-8", errors="replace")
            if len(text.strip()) < MIN_CHARS:
                continue
            package = rel.parts[0]
            yield Document(
                id=stable_id(f"docs/{package}", str(rel)),
                text=text,
                kind=_kind_of(text),
                lang=DOC_SUFFIXES.get(suffix, "text"),
                repo=f"docs/{package}",
                path=str(rel),
                meta={"source": "package documentation"},
            )


def _load_generators() -> dict[str, Any]:
    """``mathematics_dataset``'s training generators by ``area__module`` name (with the sympy shim)."""
    diophantine = importlib.import_module("sympy.solvers.diophantine")
    if not hasattr(diophantine, "base_solution_linear"):  # moved in sympy 1.6
        inner = importlib.import_module("sympy.solvers.diophantine.diophantine")
        diophantine.base_solution_linear = inner.base_solution_linear  # type: ignore[attr-defined]
    from mathematics_dataset.modules import modules

    out: dict[str, Any] = {}

    def flat(tree: dict[str, Any], prefix: str) -> None:
        for key, value in sorted(tree.items()):
            if isinstance(value, dict):
                flat(value, f"{prefix}{key}__")
            else:
                out[prefix + key] = value

    flat(modules.train(entropy_fn=lambda r: r), "")
    return out


def _generate(problems: int, seed: int) -> dict[str, Any]:
    """Run the generators in this process (a fresh one: see :func:`math_documents`)."""
    import numpy as np
    import sympy.core.random as sympy_random

    generators = _load_generators()
    random.seed(seed)
    np.random.seed(seed % (1 << 32))
    sympy_random.seed(seed)  # sympy's own generators (randprime...)
    warnings.simplefilter("ignore")  # np.object, non-integer randrange... inside the generators
    broken: dict[str, str] = {}
    by_module: dict[str, list[str]] = {}
    made, i = 0, 0
    names = sorted(n for n in generators if not n.endswith("_composed"))
    while made < problems and len(broken) < len(names):
        name = names[i % len(names)]
        i += 1
        if name in broken:
            continue
        try:
            problem = generators[name]()
        except Exception as exc:
            broken[name] = f"{type(exc).__name__}: {str(exc)[:120]}"
            continue
        by_module.setdefault(name, []).append(f"Question: {problem.question}\nAnswer: {problem.answer}\n")
        made += 1
    return {"by_module": by_module, "problems": made, "generators": len(names), "broken_generators": broken}


def math_documents(problems: int = 1000, per_document: int = 25, seed: int = 0) -> tuple[list[Document], dict]:
    """Generated question/answer documents, and counts: problems made and generators that failed.

    The generators draw from Python's, NumPy's and sympy's global random states and iterate sets whose order
    depends on string hashing, so they run in a child process with ``PYTHONHASHSEED=0`` and seeded states:
    the same seed gives the same documents, and this process's random state is never touched.
    """
    code = (
        "import json, sys; from codemill.data.samples_mixed import _generate; "
        f"json.dump(_generate({int(problems)}, {int(seed)}), sys.stdout)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        if "ModuleNotFoundError" in last or "ImportError" in last:
            raise ImportError(last)
        raise RuntimeError(f"mathematics_dataset failed: {last}")
    result = json.loads(done.stdout)
    docs = []
    for name, items in sorted(result.pop("by_module").items()):
        area = name.split("__")[0]
        for k in range(0, len(items), per_document):
            path = f"{area}/{name}-{k // per_document:04d}.txt"
            docs.append(
                Document(
                    id=stable_id("math/mathematics-dataset", path),
                    text="\n".join(items[k : k + per_document]),
                    kind="math",
                    lang="text",
                    repo="math/mathematics-dataset",
                    path=path,
                    meta={"source": "mathematics_dataset 1.0.1", "generator": name, "seed": seed},
                )
            )
    return docs, result


def build_mixed_corpus(target: Path, math_problems: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Write ``text.jsonl.zst`` and ``math.jsonl.zst`` under ``target`` (inputs for ``codemill curate``/``mix``).

    Returns the paths and counts, e.g. for ``make run`` to print. Without ``mathematics-dataset`` installed
    the math file holds only the formula-dense documentation (``math_generated`` 0, the reason recorded).
    """
    target.mkdir(parents=True, exist_ok=True)
    text_docs: list[Document] = []
    math_docs: list[Document] = []
    for doc in documentation_documents():
        (math_docs if doc.kind == "math" else text_docs).append(doc)
    info: dict[str, Any] = {"math_documentation": len(math_docs)}
    try:
        generated, counts = math_documents(math_problems, seed=seed)
        info |= {"math_generated": len(generated), **counts}
        math_docs += generated
    except ImportError as exc:
        info |= {"math_generated": 0, "math_generator_error": f"{exc} (pip install mathematics-dataset==1.0.1)"}
    text_path, math_path = target / "text.jsonl.zst", target / "math.jsonl.zst"
    info["text_documents"] = write_jsonl(text_docs, text_path)
    info["math_documents"] = write_jsonl(math_docs, math_path)
    return {"text": text_path, "math": math_path, **info}


if __name__ == "__main__":  # python -m codemill.data.samples_mixed OUT [PROBLEMS]
    result = build_mixed_corpus(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1000)
    print({k: (str(v) if isinstance(v, Path) else v) for k, v in result.items() if k != "broken_generators"})
