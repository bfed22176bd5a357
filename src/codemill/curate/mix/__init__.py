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
   extra copies get ids ``{id}#rep{k}`` and ``meta.mix_repeat``), shuffled: each copy goes to a shard by its
   key (copies of one document to different, non-neighbouring shards, so packing never puts two of them in one
   window unless a shard is shorter than a window), each shard ordered by a seeded hash; then the repeat index
   (``repeats.parquet``, with each document's shards) and ``mix.json``.

A kind whose documents cannot fill its share even at the repeat cap takes all it has (at the cap), and
``mix.json`` says which kind, by how many tokens and what ratio was achieved instead: the other kinds keep
their targets, the ratio is never changed silently. With no budget given, the budget is the largest one
every kind can fill at the ratio (so the achieved ratio is the target); a kind with no documents at all
cannot bound it, so it is left out of that choice and reported short by its whole share (a code-only
corpus through the default recipe still gets its code mixed, with the missing text and math in the report).
"""

from codemill.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(  # imported when used: ``codemill mix --help`` needs none of it
    __name__,
    {
        "counting": ("Counted", "count_documents"),
        "options": ("DEFAULT_LEVEL_WEIGHTS", "DEFAULT_RATIO", "MixError", "MixOptions", "parse_ratio", "parse_weights"),
        "plan": ("plan_mix", "select_copies"),
        "section": ("report_section",),
        "writing": ("iter_selected", "mix", "write_mix"),
    },
)
