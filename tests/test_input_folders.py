"""``curate -i FOLDER`` reads each thing in the folder for what it is: data files as data, repositories (linked
ones too) as repositories, a checkout as one repository; and the layouts that look alike are not confused."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from helpers import STDLIB

from codemill.data.readers import read_unit
from codemill.data.schema import Document, Rejection
from codemill.data.sources import ReadOptions, iter_units
from codemill.data.writers import write_jsonl


def read_all(inputs: list[Path]) -> list[Document | Rejection]:
    options = ReadOptions()
    return [item for unit in iter_units(inputs, options) for batch in read_unit(unit, options, 50) for item in batch]


def docs_of(items: list[Document | Rejection]) -> list[Document]:
    return [i.document if isinstance(i, Rejection) else i for i in items]


def text_documents(n: int, kind: str = "text") -> list[Document]:
    files = sorted((STDLIB / "email").glob("*.py"))[:n]
    return [Document(id=f"{kind}-{f.stem}", text=f.read_text(), kind=kind, lang="text") for f in files]


def sample_corpus(root: Path) -> Path:
    """The layout ``codemill sample-corpus`` builds: ``repos/`` of linked repositories and two ``.jsonl.zst``."""
    corpus = root / "sample-corpus"
    (corpus / "repos").mkdir(parents=True)
    for package in ("json", "http"):
        (corpus / "repos" / package).symlink_to(STDLIB / package, target_is_directory=True)
    write_jsonl(text_documents(6), corpus / "text.jsonl.zst")
    write_jsonl(text_documents(4, "math"), corpus / "math.jsonl.zst")
    return corpus


def test_the_sample_corpus_folder_reads_as_its_parts(tmp_path: Path) -> None:
    corpus = sample_corpus(tmp_path)
    items = read_all([corpus])
    assert not [i for i in items if isinstance(i, Rejection) and i.reason == "binary"]
    docs = docs_of(items)
    assert {d.repo for d in docs if d.kind == "code"} == {"json", "http"}
    assert Counter(d.kind for d in docs if d.kind != "code") == {"text": 6, "math": 4}
    # the same documents, ids included, as `make run` reading the parts one by one
    parts = [corpus / "repos", corpus / "math.jsonl.zst", corpus / "text.jsonl.zst"]
    assert sorted(d.id for d in docs) == sorted(d.id for d in docs_of(read_all(parts)))


def test_data_files_of_both_formats_and_a_folder_of_them(tmp_path: Path) -> None:
    root = tmp_path / "dumps"
    (root / "parquet").mkdir(parents=True)
    write_jsonl(text_documents(3), root / "a.jsonl")
    texts = [f.read_text() for f in sorted((STDLIB / "json").glob("*.py"))]
    pq.write_table(pa.table({"text": texts, "kind": ["code"] * len(texts)}), root / "parquet" / "json.parquet")
    pq.write_table(pa.table({"text": texts[:2]}), root / "b.parquet")
    items = read_all([root])
    assert all(isinstance(i, Document) for i in items)
    sources = Counter(i.meta.get("source", "").split("#")[0] for i in items if isinstance(i, Document))
    assert sources == {"": 3, "parquet/json.parquet": len(texts), "b.parquet": 2}  # a.jsonl's rows have ids


def test_a_checkout_is_one_repository_whatever_its_layout(tmp_path: Path) -> None:
    repo = tmp_path / "project"
    shutil.copytree(STDLIB / "json", repo / "src" / "json", ignore=shutil.ignore_patterns("__pycache__"))
    (repo / ".git").mkdir()
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (repo / "README.md").write_text("# project\n")
    docs = docs_of(read_all([repo]))
    assert {d.repo for d in docs} == {"project"}
    assert "src/json/decoder.py" in {d.path for d in docs} and "README.md" in {d.path for d in docs}


def test_look_alikes_stay_repositories(tmp_path: Path) -> None:
    """A repository with only one folder at its top (a gem's ``lib/``) is not a folder of repositories unless its
    sub-folders are links or checkouts; a repository with a JSONL fixture beside its code is not data."""
    root = tmp_path / "repos"
    shutil.copytree(STDLIB / "json", root / "gem" / "lib" / "json", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "app" / "tests").mkdir(parents=True)
    shutil.copyfile(STDLIB / "json" / "tool.py", root / "app" / "tool.py")
    write_jsonl(text_documents(2), root / "app" / "tests" / "fixture.jsonl")
    docs = docs_of(read_all([root]))
    assert {d.repo for d in docs} == {"gem", "app"}
    assert {d.path for d in docs if d.repo == "app"} == {"tool.py", "tests/fixture.jsonl"}
