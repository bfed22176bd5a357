"""Repository-level samples: files grouped by repository, ordered by their imports, laid out as Qwen2.5-Coder does.

For each repository (the ``repo`` column; a document without one is a repository of its own):

1. **Dependency graph** (``imports.py``): each file's imports, parsed with tree-sitter and resolved to files of
   the same repository. An edge ``dep -> file`` means ``file`` imports ``dep``.
2. **Order**: DeepSeek-Coder's cycle-tolerant topological sort (Guo et al. 2024, §2.2, Algorithm 1): per
   weakly connected component, repeatedly take the file with the fewest not-yet-placed dependencies
   (least in-degree; 0 unless there is a cycle), ties by path, and lower its dependents' in-degrees.
   Components follow each other in the order of their smallest path.
3. **Layout** (Qwen2.5-Coder report, Figure 4, exact)::

       <|repo_name|>{name}\\n<|file_sep|>{path}\\n{content}\\n<|file_sep|>{path}\\n{content}<|endoftext|>

   with repo-level FIM inside the last file at the FIM rate::

       …<|file_sep|>{path}\\n<|fim_prefix|>{pre}<|fim_suffix|>{suf}<|fim_middle|>{mid}<|endoftext|>

   (SPM at ``spm_rate``: ``<|fim_prefix|><|fim_suffix|>{suf}<|fim_middle|>{pre}{mid}``, as file-level). The
   cut comes from the run seed and the sample id (``{repo}#{k}``), like file-level cuts.
4. **Windows**: a repository longer than the window (32,768 tokens) is split at file boundaries into
   several samples, each with the repository header; a single file longer than the window is a sample of
   its own (counted as ``oversize_files``). The samples are then packed by the ordinary packer.

Control tokens are placed as ids; the text between them is encoded as ordinary text. Grouping holds
repositories in memory up to ``group_memory`` bytes, then spills documents to Parquet buckets by a hash of
the repository and reads them back bucket by bucket; the order (bucket, repository name) is the same either way.
"""

from __future__ import annotations

import heapq
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import xxhash

from codemill.curate.pack.fim import FimCut, FimOptions, FimTokens, assemble, plan_cut
from codemill.curate.pack.imports import Resolver, file_facts, go_module_of
from codemill.curate.pack.megatron import token_dtype
from codemill.curate.pack.shards import Packer, write_manifest
from codemill.curate.pack.tokenizer import Tokenizer
from codemill.data.languages import detect_language
from codemill.data.schema import Document, documents_to_table, table_to_documents

SPILL_BUCKETS = 64
#: tokens kept free in a window for the end-of-text, the FIM control tokens and re-tokenisation at the cuts
SLACK = 8


# ------------------------------------------------------------------------------------------------- grouping


def _group_key(doc: Document) -> str:
    return doc.repo if doc.repo else "\x00" + doc.id  # no repository: a repository of its own


def _bucket(key: str) -> int:
    return xxhash.xxh64_intdigest(key.encode("utf-8", "surrogatepass")) % SPILL_BUCKETS


def group_repositories(
    documents: Iterable[Document], group_memory: int = 1 << 30, spill_dir: Path | None = None
) -> Iterator[tuple[str, list[Document]]]:
    """``(repository name, its documents)`` in (hash bucket, name) order, memory bounded by ``group_memory``."""
    held: dict[str, list[Document]] = defaultdict(list)
    size = 0
    spilled: dict[int, list[Path]] = defaultdict(list)  # bucket -> its files, one per spill (each its own scores)
    tmp: Path | None = None

    def spill() -> None:
        nonlocal tmp, size
        if tmp is None:
            tmp = Path(tempfile.mkdtemp(prefix="codemill-repos-", dir=spill_dir))
        by_bucket: dict[int, list[Document]] = defaultdict(list)
        for key, docs in held.items():
            by_bucket[_bucket(key)].extend(docs)
        for b, docs in sorted(by_bucket.items()):
            path = tmp / f"{b:03d}-{len(spilled[b]):05d}.parquet"
            pq.write_table(documents_to_table(docs), path)
            spilled[b].append(path)
        held.clear()
        size = 0

    try:
        for doc in documents:
            held[_group_key(doc)].append(doc)
            size += doc.nbytes + 256
            if size > group_memory:
                spill()
        if tmp is None:
            for key in sorted(held, key=lambda k: (_bucket(k), k)):
                yield _name(key, held[key]), held[key]
            return
        spill()
        for b in sorted(spilled):
            groups: dict[str, list[Document]] = defaultdict(list)
            for path in spilled[b]:
                for doc in table_to_documents(pq.read_table(path)):
                    groups[_group_key(doc)].append(doc)
            for key in sorted(groups):
                yield _name(key, groups[key]), groups[key]
            del groups
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _name(key: str, docs: list[Document]) -> str:
    if not key.startswith("\x00"):
        return key
    return docs[0].path or docs[0].id


# ---------------------------------------------------------------------------------------- graph and order


@dataclass
class RepoGraph:
    """A repository's files (by path) and its dependency edges; counts of what parsing and resolution met."""

    paths: list[str]
    deps: dict[str, set[str]]  # path -> paths it imports
    parse_errors: int = 0
    unresolved: int = 0
    edges: int = 0
    error_paths: list[str] = field(default_factory=list)


def _lang_of(doc: Document) -> str:
    return doc.lang or detect_language(doc.path or doc.id) or ""


def dependency_graph(name: str, docs: list[Document]) -> RepoGraph:
    """Parse each file's imports and resolve them to files of the repository."""
    paths = [d.path or d.id for d in docs]
    go_mod = next((d.text for d in docs if (d.path or d.id).split("/")[-1] == "go.mod"), None)
    resolver = Resolver(name, paths, go_module_of(go_mod) if go_mod else None)
    facts = [file_facts(p, d.text, _lang_of(d)) for p, d in zip(paths, docs, strict=True)]
    for f in facts:
        if f.lang in ("java", "c#"):
            resolver.add_types(f)
    graph = RepoGraph(paths=paths, deps={})
    for f in facts:
        deps, unresolved = resolver.resolve(f)
        graph.deps[f.path] = deps
        graph.unresolved += unresolved
        graph.edges += len(deps)
        if f.parse_error:
            graph.parse_errors += 1
            graph.error_paths.append(f.path)
    return graph


def topological_order(paths: Iterable[str], deps: dict[str, set[str]]) -> tuple[list[str], int]:
    """DeepSeek-Coder's cycle-tolerant topological sort; returns the order and how many picks broke a cycle.

    Per weakly connected component (in the order of their smallest path), repeatedly take the node of least
    in-degree (its dependencies not yet placed), ties broken by path; O((V + E) log V) with a lazy heap.
    """
    nodes = sorted(set(paths))
    index = {p: i for i, p in enumerate(nodes)}
    n = len(nodes)
    dependents: list[list[int]] = [[] for _ in range(n)]
    indegree = [0] * n
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p, ds in deps.items():
        if p not in index:
            continue
        i = index[p]
        for d in ds:
            j = index.get(d)
            if j is None or j == i:
                continue
            dependents[j].append(i)
            indegree[i] += 1
            a, b = find(i), find(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    components: dict[int, list[int]] = defaultdict(list)
    for i in range(n):  # ascending, so each component's list is sorted and keyed by its smallest path
        components[find(i)].append(i)
    order: list[str] = []
    cycle_breaks = 0
    placed = [False] * n
    for root in sorted(components):
        heap = [(indegree[i], i) for i in components[root]]
        heapq.heapify(heap)
        while heap:
            degree, i = heapq.heappop(heap)
            if placed[i] or degree != indegree[i]:
                continue  # a stale entry
            placed[i] = True
            cycle_breaks += degree > 0
            order.append(nodes[i])
            for j in dependents[i]:
                if not placed[j]:
                    indegree[j] -= 1
                    heapq.heappush(heap, (indegree[j], j))
    return order, cycle_breaks


# ------------------------------------------------------------------------------------------------- samples


@dataclass
class RepoSample:
    """One sample: a repository (or a window-sized part of it) as ids, with what the pack records of it."""

    id: str
    repo: str
    paths: list[str]
    ids: list[int]
    cut: FimCut | None
    fallback: str | None
    oversize: bool

    def record(self, ordinal: int) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "doc": ordinal,
            "id": self.id,
            "repo": self.repo,
            "files": self.paths,
            "tokens": len(self.ids),
            "fim": self.cut.mode if self.cut else None,
            "cut": [self.cut.start, self.cut.end] if self.cut else None,
        }
        if self.oversize:
            rec["oversize"] = True
        if self.fallback:
            rec["syntax_fallback"] = self.fallback
        return rec


@dataclass
class RepoCounts:
    repositories: int = 0
    files: int = 0
    samples: int = 0
    split_repositories: int = 0
    oversize_files: int = 0
    over_window: int = 0
    empty_skipped: int = 0
    edges: int = 0
    unresolved_imports: int = 0
    import_parse_errors: int = 0
    cycle_breaks: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def layout_text(name: str, files: list[tuple[str, str]], cut: FimCut | None) -> str:
    """The exact text a repo-level sample decodes to (control tokens spelled out), from plain strings."""
    head = f"<|repo_name|>{name}\n" + "".join(f"<|file_sep|>{p}\n{c}\n" for p, c in files[:-1])
    path, content = files[-1]
    if cut is None:
        return f"{head}<|file_sep|>{path}\n{content}<|endoftext|>"
    pre, mid, suf = cut.pieces(content)
    if cut.mode == "psm":
        return f"{head}<|file_sep|>{path}\n<|fim_prefix|>{pre}<|fim_suffix|>{suf}<|fim_middle|>{mid}<|endoftext|>"
    return f"{head}<|file_sep|>{path}\n<|fim_prefix|><|fim_suffix|>{suf}<|fim_middle|>{pre}{mid}<|endoftext|>"


class RepoSampler:
    """Turns repositories into samples of at most ``window`` tokens (but for single oversize files)."""

    def __init__(self, tokenizer: Tokenizer, window: int, fim_options: FimOptions, fim: FimTokens | None) -> None:
        self.tok = tokenizer
        self.window = window
        self.fim_options = fim_options
        self.fim = fim
        self.repo_name_id = tokenizer.special_id("<|repo_name|>")
        self.file_sep_id = tokenizer.special_id("<|file_sep|>")
        self.counts = RepoCounts()
        self.syntax_fallback: dict[str, int] = {}

    def samples(self, name: str, docs: list[Document]) -> list[RepoSample]:
        counts = self.counts
        kept = [d for d in docs if d.text]
        counts.empty_skipped += len(docs) - len(kept)
        if not kept:
            return []
        by_path: dict[str, Document] = {}
        for d in sorted(kept, key=lambda d: (d.path or d.id, d.id)):
            by_path.setdefault(d.path or d.id, d)  # a path twice: the first by id
        counts.empty_skipped += len(kept) - len(by_path)
        ordered_docs = list(by_path.values())
        graph = dependency_graph(name, ordered_docs)
        order, breaks = topological_order(graph.paths, graph.deps)
        counts.repositories += 1
        counts.files += len(order)
        counts.edges += graph.edges
        counts.unresolved_imports += graph.unresolved
        counts.import_parse_errors += graph.parse_errors
        counts.cycle_breaks += breaks
        files = [(p, self.tok.normalize(by_path[p].text), _lang_of(by_path[p])) for p in order]
        header, *bodies = self.tok.encode_batch([f"{name}\n"] + [f"{p}\n{c}\n" for p, c, _ in files])
        fixed = 1 + len(header) + SLACK
        chunks: list[list[int]] = []
        current: list[int] = []
        used = fixed
        for i, body in enumerate(bodies):
            cost = 1 + len(body)
            if current and used + cost > self.window:
                chunks.append(current)
                current, used = [], fixed
            current.append(i)
            used += cost
        chunks.append(current)
        if len(chunks) > 1:
            counts.split_repositories += 1
        out = []
        for k, chunk in enumerate(chunks):
            sample_id = f"{name}#{k}"
            ids = [self.repo_name_id, *header]
            for i in chunk[:-1]:
                ids.append(self.file_sep_id)
                ids += bodies[i]
            path, content, lang = files[chunk[-1]]
            cut, fallback = plan_cut(sample_id, content, lang, self.fim_options) if self.fim else (None, None)
            ids.append(self.file_sep_id)
            if cut is None:
                (last,) = self.tok.encode_batch([f"{path}\n{content}"])
                ids += last
                ids.append(self.tok.eos_id)
            else:
                assert self.fim is not None
                head, pre, mid, suf = self.tok.encode_batch([f"{path}\n", *cut.pieces(content)])
                ids += head
                ids += assemble(cut.mode, pre, mid, suf, self.fim)
            if fallback:
                self.syntax_fallback[fallback] = self.syntax_fallback.get(fallback, 0) + 1
            oversize = len(chunk) == 1 and fixed + 1 + len(bodies[chunk[0]]) > self.window
            counts.oversize_files += oversize
            counts.over_window += len(ids) > self.window and not oversize
            out.append(RepoSample(sample_id, name, [files[i][0] for i in chunk], ids, cut, fallback, oversize))
        counts.samples += len(out)
        return out


def iter_repo_samples(
    documents: Iterable[Document], sampler: RepoSampler, group_memory: int = 1 << 30
) -> Iterator[tuple[RepoSample, list[Document]]]:
    """Each sample of each repository, with the repository's documents (for checking)."""
    for name, docs in group_repositories(documents, group_memory):
        for sample in sampler.samples(name, docs):
            yield sample, docs


# ------------------------------------------------------------------------------------------------- packing


def pack_repositories(
    documents: Iterable[Document], out_dir: Path, options: Any, tokenizer: Tokenizer, fim: FimTokens | None
) -> dict[str, Any]:
    """The repo-level branch of :func:`~codemill.curate.pack.packing.pack_documents` (called from there)."""
    started = time.perf_counter()
    packer = Packer(out_dir, options, tokenizer.eos_id, token_dtype(tokenizer.vocab_size))
    sampler = RepoSampler(tokenizer, options.window, options.fim, fim)
    counts = {"documents": 0, "tokens": 0, "psm": 0, "spm": 0, "bytes": 0}
    for ordinal, (sample, docs) in enumerate(iter_repo_samples(documents, sampler, options.repo_group_memory)):
        if sample.id.endswith("#0"):
            counts["bytes"] += sum(d.nbytes for d in docs)
        if sample.cut is not None:
            counts[sample.cut.mode] += 1
        counts["documents"] += 1
        counts["tokens"] += len(sample.ids)
        packer.add(ordinal, np.asarray(sample.ids, dtype=np.uint32), sample.record(ordinal))
    counts["empty_skipped"] = sampler.counts.empty_skipped
    return write_manifest(
        out_dir, options, tokenizer, packer, counts, started, sampler.syntax_fallback, "repo",
        repo=sampler.counts.as_dict(),
    )  # fmt: skip


def expected_layouts(
    documents: Iterable[Document], options: Any, tokenizer: Tokenizer, fim: FimTokens | None
) -> Iterator[tuple[RepoSample, str]]:
    """Each sample the pack should hold, with the text it must decode to (built from strings, not ids)."""
    sampler = RepoSampler(tokenizer, options.window, options.fim, fim)
    for sample, docs in iter_repo_samples(documents, sampler, options.repo_group_memory):
        by_path = {}
        for d in sorted((d for d in docs if d.text), key=lambda d: (d.path or d.id, d.id)):
            by_path.setdefault(d.path or d.id, d)
        files = [(p, tokenizer.normalize(by_path[p].text)) for p in sample.paths]
        yield sample, layout_text(sample.repo, files, sample.cut)
