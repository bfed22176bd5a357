"""Seeds for the language agents: code snippets from curated data and a shipped set, and optional instruction data.

Snippets come from the recipe's ``inputs`` (codemill output folders, Parquet or JSONL) and, unless
``seeds.builtin`` is false, from a snippet set shipped with codemill (``synth/data/seed_snippets.jsonl``: short,
hand-written library-style code in python, javascript, typescript, bash, c++ and java, at quality 0, so a
``min_quality`` above 0 leaves them out), read as one more JSONL input: seeding is on by default, with nothing to
download or curate first. From all of them, code documents of each agent's language with at least the recipe's
quality level are chosen by a seeded hash of their id (the same sample however the inputs are ordered),
``per_language`` per agent, and cut to at most ``max_tokens`` Qwen2.5 tokens at a line boundary. Instruction data
is JSONL of ``{"instruction", "language"?}``; a row without a language seeds every agent.
"""

from __future__ import annotations

import hashlib
from contextlib import ExitStack
from importlib import resources
from pathlib import Path

from codemill.curate.pack.sources import iter_documents
from codemill.curate.pack.tokenizer import QwenTokenizer
from codemill.data.sampling import sample_by_id
from codemill.evaluate.base import read_jsonl
from codemill.sandbox.languages import UnknownLanguageError, get_language
from codemill.synth.recipe import SeedSpec
from codemill.synth.schema import Seed

__all__ = ["BUILTIN_SNIPPETS", "cut_to_tokens", "load_seeds", "sandbox_language"]

#: the shipped snippet set: one JSONL document per line (id, text, kind, lang, path, quality), as curated output has
BUILTIN_SNIPPETS = resources.files("codemill.synth") / "data" / "seed_snippets.jsonl"


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
    """Per agent language, its snippet seeds then its instruction seeds (either may be empty).

    With ``spec.builtin`` the shipped snippet set is one more input beside ``spec.inputs``, sampled by the same
    rule, even when the recipe gives inputs of its own: those rarely hold every agent's language (a Python corpus
    leaves the bash agent with nothing), and an agent without snippets proposes from nothing and repeats itself.
    Where the inputs do hold a language, its builtin snippets are just a few more documents to sample from.
    """
    seeds: dict[str, list[Seed]] = {language: [] for language in languages}
    with ExitStack() as stack:
        inputs = list(spec.inputs)
        if spec.builtin:
            inputs.append(stack.enter_context(resources.as_file(BUILTIN_SNIPPETS)))
        if inputs and spec.per_language:
            _add_snippets(seeds, spec, inputs, seed)
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


def _add_snippets(seeds: dict[str, list[Seed]], spec: SeedSpec, inputs: list[Path], seed: int) -> None:
    """Append to ``seeds`` (keyed by the agents' languages) ``spec.per_language`` sampled snippets of each."""
    tokenizer = QwenTokenizer()
    wanted = set(seeds)

    def group(doc) -> str | None:  # type: ignore[no-untyped-def]
        language = sandbox_language(doc.lang)
        ok = doc.kind == "code" and language in wanted and (doc.quality or 0) >= spec.min_quality
        return language if ok else None

    picked = sample_by_id(iter_documents(inputs), spec.per_language, seed, lambda d: d.id, group)
    for language, documents in picked.items():
        if language is None:
            continue
        for doc in documents:
            code = cut_to_tokens(doc.text, spec.max_tokens, tokenizer)
            seeds[str(language)].append(Seed(doc.id, str(language), code, doc.quality or 0, doc.path or doc.id))
