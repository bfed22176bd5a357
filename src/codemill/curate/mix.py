"""Mixing: pick documents for a token budget split code:text:math (7:2:1 by default), weighted by quality.

Two passes over the inputs (codemill output folders, Parquet or JSONL), memory bounded by a few numbers per
document (never the texts):

1. **Count**: each document's tokens (Qwen2.5, the text plus its end-of-text) or bytes, its kind, quality
   level and language, and a key ``xxh64(seed, id)``: the only randomness, so a document's fate depends on
   the seed and its id, not on the order, the worker or any global random state.
2. **Select**, per kind, for its share of the budget ``T``: each document of quality level ``l`` gets an
   expected number of copies ``e = min(s * w[l], max_repeats)``, with the scale ``s`` solved so that
   ``sum(tokens * e) = T`` (so a level of weight 2 is drawn twice as often as one of weight 1, and no
   document repeats more than the cap). Every document gets ``floor(e)`` copies; the fractional parts are
   filled by weighted sampling without replacement (Efraimidis-Spirakis keys ``u ** (1 / frac)`` with ``u``
   from the key): the longest prefix in key order that fits, then whatever further documents still fit, so
   the achieved total is within one (small) document of ``T``.
3. **Write** the chosen documents as Parquet shards (``data/``, the document schema; a repeated document's
   extra copies get ids ``{id}#rep{k}`` and ``meta.mix_repeat``), the repeat index (``repeats.parquet``) and
   ``mix.json``.

A kind whose documents cannot fill its share even at the repeat cap takes all it has (at the cap), and
``mix.json`` says which kind, by how many tokens and what ratio was achieved instead: the other kinds keep
their targets, the ratio is never changed silently. With no budget given, the budget is the largest one
every kind can fill at the ratio (so the achieved ratio is the target); a kind with no documents at all
cannot bound it, so it is left out of that choice and reported short by its whole share (a code-only
corpus through the default recipe still gets its code mixed, with the missing text and math in the report).
"""

from __future__ import annotations

import json
import math
import shutil
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash
from pydantic import Field, field_validator

from codemill.curate.pack.sources import _documents, input_files
from codemill.data.schema import Document, documents_to_table
from codemill.data.textio import atomic_path, atomic_write_text
from codemill.pipeline.step import Params

DEFAULT_RATIO = {"code": 7.0, "text": 2.0, "math": 1.0}
DEFAULT_LEVEL_WEIGHTS = {0: 1.0, 1: 1.5, 2: 2.0, 3: 3.0}
SCAN_LIMIT = 200_000  # candidates scanned to fill the last gap of a budget


class MixOptions(Params):
    """What ``codemill mix`` and the recipe step ``mix`` are asked for; every field has a default."""

    budget: int | None = Field(None, ge=1, description="total tokens (or bytes); None: the largest the ratio allows")
    ratio: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_RATIO), description="kind -> share")
    level_weights: dict[int, float] = Field(
        default_factory=lambda: dict(DEFAULT_LEVEL_WEIGHTS),
        description="quality level -> sampling weight; an unlisted level takes the nearest lower listed one",
    )
    max_repeats: int = Field(4, ge=1, description="most copies of one document in the mix")
    seed: int = 0
    unit: Literal["tokens", "bytes"] = Field("tokens", description="what the budget counts")
    tokenizer: str = Field("qwen2.5", description="tokenizer that counts tokens (unit tokens)")
    shard_rows: int = Field(50_000, ge=1, description="documents per output shard")

    @field_validator("ratio")
    @classmethod
    def _ratio(cls, v: dict[str, float]) -> dict[str, float]:
        if not v or any(x < 0 for x in v.values()) or sum(v.values()) <= 0:
            raise ValueError("ratio needs at least one kind with a positive share, and no negative share")
        return v

    @field_validator("level_weights")
    @classmethod
    def _weights(cls, v: dict[int, float]) -> dict[int, float]:
        if not v or any(x < 0 for x in v.values()):
            raise ValueError("level weights must be non-negative, and at least one given")
        return v

    def weight(self, level: int) -> float:
        listed = sorted(self.level_weights)
        lower = [k for k in listed if k <= level]
        return self.level_weights[lower[-1] if lower else listed[0]]


class MixError(RuntimeError):
    """An output folder that cannot be written, or inputs with nothing to mix."""


@dataclass
class Counted:
    """Pass 1: per document, its input file and row, kind, level, language, size and key."""

    file: np.ndarray
    row: np.ndarray
    kind: np.ndarray
    level: np.ndarray
    lang: np.ndarray
    size: np.ndarray
    key: np.ndarray
    kinds: list[str]
    langs: list[str]
    empty: int


def _key(seed: int, doc_id: str) -> int:
    return xxhash.xxh64_intdigest(f"codemill-mix\x00{seed}\x00{doc_id}".encode("utf-8", "surrogatepass"))


def count_documents(files: list[Path], options: MixOptions, batch: int = 512) -> Counted:
    """Pass 1 over the input files."""
    tokenizer = None
    if options.unit == "tokens":
        from codemill.curate.pack.tokenizer import load_tokenizer

        tokenizer = load_tokenizer(options.tokenizer)
    kinds: dict[str, int] = {}
    langs: dict[str, int] = {}
    cols: dict[str, list[np.ndarray]] = defaultdict(list)
    empty = 0

    def rows() -> Iterator[tuple[int, int, Document]]:
        nonlocal empty
        for f_index, file in enumerate(files):
            for row, doc in enumerate(_documents([file])):
                if doc.text:
                    yield f_index, row, doc
                else:
                    empty += 1

    stream = rows()
    while chunk := list(islice(stream, batch)):
        docs = [d for _, _, d in chunk]
        if tokenizer is not None:
            sizes = [len(ids) + 1 for ids in tokenizer.encode_batch([tokenizer.normalize(d.text) for d in docs])]
        else:
            sizes = [d.nbytes for d in docs]
        cols["file"].append(np.array([f for f, _, _ in chunk], np.int32))
        cols["row"].append(np.array([r for _, r, _ in chunk], np.int64))
        cols["kind"].append(np.array([kinds.setdefault(d.kind, len(kinds)) for d in docs], np.int16))
        cols["level"].append(np.array([d.quality for d in docs], np.int32))
        cols["lang"].append(np.array([langs.setdefault(d.lang, len(langs)) for d in docs], np.int32))
        cols["size"].append(np.array(sizes, np.int64))
        cols["key"].append(np.array([_key(options.seed, d.id) for d in docs], np.uint64))
    dtypes = {"file": np.int32, "row": np.int64, "kind": np.int16, "level": np.int32, "lang": np.int32}
    dtypes |= {"size": np.int64, "key": np.uint64}
    arrays = {k: np.concatenate(cols[k]) if cols[k] else np.zeros(0, dt) for k, dt in dtypes.items()}
    return Counted(**arrays, kinds=list(kinds), langs=list(langs), empty=empty)


def _solve_scale(size: np.ndarray, weight: np.ndarray, cap: int, target: float) -> float:
    """The scale ``s`` with ``sum(size * min(s * weight, cap)) = target`` (bisection; the sum grows with s)."""
    lo, hi = 0.0, 1.0
    while float(np.sum(size * np.minimum(hi * weight, cap))) < target:
        hi *= 2
    for _ in range(100):
        mid = (lo + hi) / 2
        if float(np.sum(size * np.minimum(mid * weight, cap))) < target:
            lo = mid
        else:
            hi = mid
    return hi


def select_copies(size: np.ndarray, weight: np.ndarray, key: np.ndarray, target: float, cap: int) -> np.ndarray:
    """Copies of each document so that ``sum(size * copies)`` is as near ``target`` as one document allows."""
    copies = np.zeros(len(size), np.int64)
    usable = weight > 0
    capacity = float(np.sum(size[usable])) * cap
    if target >= capacity:
        copies[usable] = cap
        return copies
    if target <= 0:
        return copies
    s = _solve_scale(size, weight, cap, target)
    expected = np.minimum(s * weight, cap)
    copies = np.floor(expected).astype(np.int64)
    frac = expected - copies
    remaining = target - float(np.sum(size * copies))
    candidates = np.flatnonzero(frac > 1e-12)
    if remaining <= 0 or not len(candidates):
        return copies
    u = (key[candidates] >> np.uint64(11)).astype(np.float64) / float(1 << 53)  # uniform in [0, 1)
    priority = np.log(np.maximum(u, 1e-300)) / frac[candidates]  # log of u ** (1 / frac): larger first
    order = candidates[np.lexsort((key[candidates], -priority))]
    cumulative = np.cumsum(size[order])
    n = int(np.searchsorted(cumulative, remaining, side="right"))  # the longest prefix that fits
    copies[order[:n]] += 1
    left = remaining - (float(cumulative[n - 1]) if n else 0.0)
    rest = order[n : n + SCAN_LIMIT]
    for j in rest.tolist():  # then, in the same order, whatever still fits (a greedy fill of the gap)
        if left <= 0:
            break
        if size[j] <= left:
            copies[j] += 1
            left -= float(size[j])
    if left > 0:  # one more document if going over by it is nearer the target than stopping short
        over = [j for j in rest.tolist() if copies[j] == np.floor(expected[j]) and size[j] - left < left]
        if over:
            copies[min(over, key=lambda j: size[j])] += 1
    return copies


def plan_mix(counted: Counted, options: MixOptions) -> tuple[np.ndarray, dict[str, Any]]:
    """Copies per counted document, and the report (without output details)."""
    total_share = sum(options.ratio.values())
    shares = {k: v / total_share for k, v in options.ratio.items()}
    weights_by_level = {lvl: options.weight(int(lvl)) for lvl in np.unique(counted.level).tolist()}
    weight = np.array([weights_by_level[int(x)] for x in counted.level.tolist()], np.float64)
    kind_of = {name: i for i, name in enumerate(counted.kinds)}
    cap = options.max_repeats
    available: dict[str, int] = {}
    usable_size: dict[str, int] = {}
    for kind in shares:
        mask = counted.kind == kind_of[kind] if kind in kind_of else np.zeros(len(counted.kind), bool)
        available[kind] = int(counted.size[mask].sum())
        usable_size[kind] = int(counted.size[mask & (weight > 0)].sum())
    if options.budget is None:
        limits = [usable_size[k] * cap / shares[k] for k in shares if shares[k] > 0 and usable_size[k] > 0]
        budget = int(min(limits)) if limits else 0
        mode = "max"
    else:
        budget, mode = options.budget, "given"
    if budget <= 0:
        empty_kinds = [k for k in shares if shares[k] > 0 and usable_size[k] == 0]
        raise MixError(f"nothing to mix: no usable documents of kind {', '.join(empty_kinds) or '?'}")
    copies = np.zeros(len(counted.size), np.int64)
    kinds_report: dict[str, Any] = {}
    warnings: list[str] = []
    for kind, share in shares.items():
        target = budget * share
        mask = counted.kind == kind_of[kind] if kind in kind_of else np.zeros(len(counted.kind), bool)
        idx = np.flatnonzero(mask)
        got = select_copies(counted.size[idx], weight[idx], counted.key[idx], target, cap)
        copies[idx] = got
        selected = int(np.sum(counted.size[idx] * got))
        capacity = usable_size[kind] * cap
        short = capacity < target
        hist = np.bincount(got[got > 0]) if np.any(got > 0) else np.zeros(1, np.int64)
        entry: dict[str, Any] = {
            "target": round(target),
            "selected": selected,
            "available": available[kind],
            "capacity": capacity,
            "documents": int(np.count_nonzero(got)),
            "copies": int(got.sum()),
            "repeat_histogram": {str(i): int(n) for i, n in enumerate(hist) if i and n},
            "short": short,
        }
        if short:
            entry["shortfall"] = round(target - selected)
            entry["shortfall_pct"] = round(100 * (target - selected) / target, 3) if target else 0.0
            warnings.append(
                f"{kind} is short of its share: {selected:,} of {round(target):,} {options.unit} "
                f"({entry['shortfall_pct']}% short, {entry['shortfall']:,} missing) with every usable document "
                f"at the cap of {cap} copies; the other kinds keep their targets, so the achieved ratio differs"
            )
        kinds_report[kind] = entry
    total = sum(e["selected"] for e in kinds_report.values())
    achieved = {k: (e["selected"] / total if total else 0.0) for k, e in kinds_report.items()}
    for k in kinds_report:
        kinds_report[k]["target_share"] = round(shares[k], 6)
        kinds_report[k]["achieved_share"] = round(achieved[k], 6)
    levels: dict[str, dict[str, Any]] = {}
    languages: dict[str, dict[str, Any]] = {}
    for kind in shares:
        if kind not in kind_of:
            continue
        mask = counted.kind == kind_of[kind]
        sel = counted.size * copies
        kind_total = max(1, kinds_report[kind]["selected"])
        levels[kind] = {}
        for lvl in sorted(np.unique(counted.level[mask]).tolist()):
            m = mask & (counted.level == lvl)
            levels[kind][str(lvl)] = {
                "weight": weights_by_level[lvl],
                "available": int(counted.size[m].sum()),
                "selected": int(sel[m].sum()),
                "documents": int(np.count_nonzero(copies[m])),
                "share_of_kind": round(float(sel[m].sum()) / kind_total, 6),
            }
        languages[kind] = {}
        lang_ids = np.unique(counted.lang[mask]).tolist()
        rows = []
        for li in lang_ids:
            m = mask & (counted.lang == li)
            rows.append((counted.langs[li] or "unknown", int(counted.size[m].sum()), int(sel[m].sum())))
        for name, avail, chosen in sorted(rows, key=lambda r: (-r[2], r[0])):
            languages[kind][name] = {
                "available": avail,
                "selected": chosen,
                "share_of_kind": round(chosen / kind_total, 6),
            }
    excluded = {
        name: int(np.count_nonzero(counted.kind == i)) for i, name in enumerate(counted.kinds) if name not in shares
    }
    zero_weight = int(np.count_nonzero(weight == 0))
    report = {
        "unit": options.unit,
        "budget": budget,
        "budget_mode": mode,
        "selected": total,
        "target_ratio": {k: round(v, 6) for k, v in shares.items()},
        "achieved_ratio": {k: round(v, 6) for k, v in achieved.items()},
        "max_ratio_error": round(max(abs(achieved[k] - shares[k]) for k in shares), 6),
        "kinds": kinds_report,
        "levels": levels,
        "languages": languages,
        "excluded": {"kinds_not_in_ratio": excluded, "zero_weight_documents": zero_weight, "empty": counted.empty},
        "warnings": warnings,
    }
    return copies, report


def _prepare(out_dir: Path, overwrite: bool) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    ours = [out_dir / n for n in ("mix.json", "repeats.parquet", "data") if (out_dir / n).exists()]
    if ours and not overwrite:
        raise MixError(f"{out_dir} already holds a mix; pass overwrite to replace it")
    for p in ours:
        shutil.rmtree(p) if p.is_dir() else p.unlink()


def write_mix(files: list[Path], counted: Counted, copies: np.ndarray, out_dir: Path, options: MixOptions) -> dict:
    """Pass 2: stream the inputs again and write the chosen documents, with their copies, and the repeat index."""
    data = out_dir / "data"
    data.mkdir(parents=True, exist_ok=True)
    chosen = np.flatnonzero(copies > 0)
    by_file: dict[int, dict[int, int]] = defaultdict(dict)
    for i in chosen.tolist():
        by_file[int(counted.file[i])][int(counted.row[i])] = int(copies[i])
    shards: list[dict[str, Any]] = []
    buffer: list[Document] = []
    index: dict[str, list] = {"id": [], "copies": [], "kind": [], "quality": [], "lang": [], "shard": []}

    def flush() -> None:
        if not buffer:
            return
        name = f"shard-{len(shards):05d}.parquet"
        with atomic_path(data / name) as tmp:
            pq.write_table(documents_to_table(buffer), tmp)
        shards.append({"name": f"data/{name}", "rows": len(buffer)})
        buffer.clear()

    for f_index, file in enumerate(files):
        wanted = by_file.get(f_index)
        if not wanted:
            continue
        for row, doc in enumerate(_documents([file])):
            n = wanted.get(row)
            if not n:
                continue
            index["id"].append(doc.id)
            index["copies"].append(n)
            index["kind"].append(doc.kind)
            index["quality"].append(doc.quality)
            index["lang"].append(doc.lang)
            index["shard"].append(len(shards))
            for k in range(n):
                meta = {**doc.meta, "mix_repeat": k, "mix_source_id": doc.id}
                buffer.append(doc if k == 0 else replace(doc, id=f"{doc.id}#rep{k}", meta=meta))
                if len(buffer) >= options.shard_rows:
                    flush()
    flush()
    with atomic_path(out_dir / "repeats.parquet") as tmp:
        pq.write_table(pa.table(index), tmp)
    return {"shards": shards, "documents": len(index["id"]), "rows": sum(s["rows"] for s in shards)}


def mix(inputs: list[Path], out_dir: Path, options: MixOptions | None = None, overwrite: bool = False) -> dict:
    """Count, select and write a mix of ``inputs`` into ``out_dir``; return what ``mix.json`` holds."""
    options = options or MixOptions()
    files = input_files(inputs)
    _prepare(out_dir, overwrite)
    counted = count_documents(files, options)
    copies, report = plan_mix(counted, options)
    written = write_mix(files, counted, copies, out_dir, options)
    report = {
        "options": options.model_dump(mode="json"),
        "inputs": [str(f) for f in files],
        "documents_in": len(counted.size) + counted.empty,
        **report,
        "output": written,
    }
    atomic_write_text(out_dir / "mix.json", json.dumps(report, indent=2))
    return report


def iter_selected(out_dir: Path) -> Iterator[Document]:
    """The documents of a mix, copies included (what ``codemill pack -i OUT`` reads)."""
    yield from _documents(sorted((out_dir / "data").glob("*.parquet")))


# ----------------------------------------------------------------------------------------- report section


def _fmt(n: float) -> str:
    return f"{n:,.0f}" if abs(n) >= 1 or n == 0 else f"{n:.3g}"


def report_section(report: dict[str, Any]) -> dict[str, Any]:
    """The mix as a section for the HTML report: a title, a summary line, warnings and plain tables."""
    unit = report.get("unit", "tokens")
    kinds = report.get("kinds", {})
    rows = [
        [
            k,
            f"{100 * e.get('target_share', 0):.2f}%",
            f"{100 * e.get('achieved_share', 0):.2f}%",
            _fmt(e.get("target", 0)),
            _fmt(e.get("selected", 0)),
            _fmt(e.get("available", 0)),
            _fmt(e.get("documents", 0)),
            (f"short by {_fmt(e.get('shortfall', 0))} ({e.get('shortfall_pct', 0)}%)" if e.get("short") else "ok"),
        ]
        for k, e in kinds.items()
    ]
    tables = [
        {
            "caption": f"Kinds ({unit})",
            "columns": ["kind", "target", "achieved", "target " + unit, "selected", "available", "documents", "status"],
            "rows": rows,
        }
    ]
    level_rows = [
        [k, lvl, f"{e['weight']:g}", _fmt(e["available"]), _fmt(e["selected"]), f"{100 * e['share_of_kind']:.2f}%"]
        for k, levels in report.get("levels", {}).items()
        for lvl, e in levels.items()
    ]
    tables.append(
        {
            "caption": "Quality levels",
            "columns": ["kind", "level", "weight", "available", "selected", "share of kind"],
            "rows": level_rows,
        }
    )
    lang_rows = [
        [k, name, _fmt(e["available"]), _fmt(e["selected"]), f"{100 * e['share_of_kind']:.2f}%"]
        for k, langs in report.get("languages", {}).items()
        for name, e in list(langs.items())[:15]
    ]
    tables.append(
        {
            "caption": "Languages (top 15 per kind)",
            "columns": ["kind", "language", "available", "selected", "share"],
            "rows": lang_rows,
        }
    )
    achieved = ", ".join(f"{k} {100 * v:.2f}%" for k, v in report.get("achieved_ratio", {}).items())
    summary = (
        f"{_fmt(report.get('selected', 0))} {unit} selected of a budget of {_fmt(report.get('budget', 0))} "
        f"({report.get('budget_mode', 'given')}); achieved {achieved}; largest deviation from the target "
        f"{100 * report.get('max_ratio_error', 0):.2f} points"
    )
    return {"title": "Mix", "summary": summary, "warnings": list(report.get("warnings", [])), "tables": tables}


def report_section_html(report: dict[str, Any]) -> str:
    """:func:`report_section` rendered as an escaped HTML fragment (``<section>``), ready to drop in a page."""
    from markupsafe import escape

    section = report_section(report)
    parts = [f"<section class='mix'><h2>{escape(section['title'])}</h2><p>{escape(section['summary'])}</p>"]
    parts += [f"<p class='warning'>{escape(w)}</p>" for w in section["warnings"]]
    for table in section["tables"]:
        head = "".join(f"<th>{escape(c)}</th>" for c in table["columns"])
        body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in table["rows"])
        parts.append(f"<table><caption>{escape(table['caption'])}</caption><tr>{head}</tr>{body}</table>")
    parts.append("</section>")
    return "".join(parts)


def parse_ratio(text: str) -> dict[str, float]:
    """``code=7,text=2,math=1`` or ``7:2:1`` (code:text:math) -> a ratio."""
    text = text.strip()
    if "=" not in text:
        values = [float(x) for x in text.split(":")]
        names = list(DEFAULT_RATIO)
        if len(values) != len(names):
            raise ValueError(f"{text!r}: give code:text:math (three numbers) or kind=share pairs")
        return dict(zip(names, values, strict=True))
    out = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        out[name.strip()] = float(value)
    return out


def parse_weights(text: str) -> dict[int, float]:
    """``0=1,1=1.5,2=2`` -> level weights."""
    out = {}
    for part in text.split(","):
        level, _, value = part.partition("=")
        out[int(level)] = float(value)
    if any(math.isnan(v) for v in out.values()):
        raise ValueError("a weight is not a number")
    return out
