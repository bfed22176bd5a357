"""Seeds for the language agents: code snippets from curated data, and optional open instruction data.

Snippets come from a curated corpus (a codemill output folder, Parquet or JSONL): code documents of each agent's
language with at least the recipe's quality level, chosen by a seeded hash of their id (the same sample however the
corpus is ordered), cut to at most ``max_tokens`` Qwen2.5 tokens at a line boundary. Instruction data is JSONL of
``{"instruction", "language"?}``; a row without a language seeds every agent.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from codemill.curate.pack.sources import iter_documents
from codemill.curate.pack.tokenizer import QwenTokenizer
from codemill.data.sampling import sample_by_id
from codemill.evaluate.base import read_jsonl
from codemill.sandbox.languages import UnknownLanguageError, get_language
from codemill.synth.recipe import SeedSpec
from codemill.synth.schema import Seed

__all__ = ["cut_to_tokens", "load_seeds", "sandbox_language"]


def sandbox_language(name: str | None) -> str | None:
    """The sandbox's name for a document's language (``c++`` → ``cpp``), or None when it cannot run it."""
    if not name:
        return None
    try:
        return get_language(name).name
    except UnknownLanguageError:
        return None


def cut_to_tokens(text: str, max_tokens: int, tokenizer: QwenTokenizer) -> str:
    """The longest prefix of whole lines within ``max_tokens`` tokens (at least the first line, cut by tokens)."""
    if len(tokenizer.encode_batch([text])[0]) <= max_tokens:
        return text
    kept, used = [], 0
    for line in text.splitlines(keepends=True):
        cost = len(tokenizer.encode_batch([line])[0])
        if used + cost > max_tokens:
            break
        kept.append(line)
        used += cost
    if not kept:
        return tokenizer.decode(tokenizer.encode_batch([text])[0][:max_tokens])
    return "".join(kept)


def load_seeds(spec: SeedSpec, languages: list[str], seed: int) -> dict[str, list[Seed]]:
    """Per agent language, its snippet seeds then its instruction seeds (either may be empty)."""
    seeds: dict[str, list[Seed]] = {language: [] for language in languages}
    if spec.inputs and spec.per_language:
        tokenizer = QwenTokenizer()
        wanted = set(languages)

        def group(doc) -> str | None:  # type: ignore[no-untyped-def]
            language = sandbox_language(doc.lang)
            ok = doc.kind == "code" and language in wanted and (doc.quality or 0) >= spec.min_quality
            return language if ok else None

        picked = sample_by_id(iter_documents(spec.inputs), spec.per_language, seed, lambda d: d.id, group)
        for language, documents in picked.items():
            if language is None:
                continue
            for doc in documents:
                code = cut_to_tokens(doc.text, spec.max_tokens, tokenizer)
                seeds[str(language)].append(Seed(doc.id, str(language), code, doc.quality or 0, doc.path or doc.id))
    if spec.instructions is not None:
        for number, row in enumerate(read_jsonl(Path(spec.instructions)), 1):
            text = str(row.get("instruction") or "").strip()
            if not text:
                raise ValueError(f"{spec.instructions}:{number}: no 'instruction'")
            language = sandbox_language(row.get("language"))
            for target in [language] if language else languages:
                if target in seeds:
                    digest = hashlib.sha1(f"{number}:{text}".encode()).hexdigest()[:12]
                    seeds[target].append(Seed(f"instr-{digest}", target, "", 0, str(spec.instructions), text))
    return seeds
