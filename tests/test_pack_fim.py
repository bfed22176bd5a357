"""File-level FIM: exact PSM/SPM layouts, deterministic cuts from (seed, document id), the configured rates."""

from __future__ import annotations

import random

import numpy as np
import pytest
from helpers import STDLIB

from codemill.curate.pack.fim import (
    FimCut,
    FimOptions,
    FimTokens,
    assemble,
    choose_cut,
    encode_documents,
    encode_flat,
)
from codemill.curate.pack.tokenizer import QwenTokenizer, load_tokenizer


@pytest.fixture(scope="module")
def qwen() -> QwenTokenizer:
    return load_tokenizer("qwen2.5")  # type: ignore[return-value]


def test_psm_and_spm_layouts_are_exact(qwen: QwenTokenizer) -> None:
    text = (STDLIB / "json" / "__init__.py").read_text()
    start, end = text.index("def dump("), text.index("def dumps(")
    pre, mid, suf = text[:start], text[start:end], text[end:]
    fim = FimTokens.of(qwen)
    assert (fim.prefix, fim.middle, fim.suffix, fim.eos) == (151659, 151660, 151661, 151643)

    always = FimOptions(rate=1.0)
    for mode, expected in (
        ("psm", f"<|fim_prefix|>{pre}<|fim_suffix|>{suf}<|fim_middle|>{mid}<|endoftext|>"),
        ("spm", f"<|fim_prefix|><|fim_suffix|>{suf}<|fim_middle|>{pre}{mid}<|endoftext|>"),
    ):
        doc_id = next(f"doc-{i}" for i in range(100) if choose_cut(f"doc-{i}", len(text), always).mode == mode)
        cut = choose_cut(doc_id, len(text), always)
        assert cut is not None
        ids, cuts, _ = encode_documents(qwen, [doc_id], [text], always, fim)
        assert cuts == [cut]
        got_pre, got_mid, got_suf = cut.pieces(text)
        if mode == "psm":
            layout = f"<|fim_prefix|>{got_pre}<|fim_suffix|>{got_suf}<|fim_middle|>{got_mid}<|endoftext|>"
        else:
            layout = f"<|fim_prefix|><|fim_suffix|>{got_suf}<|fim_middle|>{got_pre}{got_mid}<|endoftext|>"
        assert qwen.decode(ids[0]) == layout
        # and with the cut placed by hand at the two functions, the layout is the one the report shows
        p, m, s = qwen.encode_batch([pre, mid, suf])
        assert qwen.decode(assemble(mode, p, m, s, fim)) == expected  # type: ignore[arg-type]


def test_plain_documents_end_with_end_of_text(qwen: QwenTokenizer) -> None:
    ids, cuts, _ = encode_documents(qwen, ["a", "b"], ["x = 1\n", "y = 2\n"], FimOptions(rate=0.0), FimTokens.of(qwen))
    assert cuts == [None, None]
    assert [qwen.decode(i) for i in ids] == ["x = 1\n<|endoftext|>", "y = 2\n<|endoftext|>"]
    ids, cuts, _ = encode_documents(qwen, ["a"], ["x = 1\n"], FimOptions(rate=1.0), None)  # FIM off: no tokens
    assert cuts == [None] and ids[0][-1] == 151643


def test_cuts_are_deterministic_per_document_and_seed() -> None:
    options = FimOptions(rate=1.0, seed=7)
    before = random.getstate()
    cuts = [choose_cut(f"repo/file{i}.py", 5000, options) for i in range(200)]
    assert random.getstate() == before  # no global random state is used
    assert cuts == [choose_cut(f"repo/file{i}.py", 5000, options) for i in range(200)]
    assert cuts != [choose_cut(f"repo/file{i}.py", 5000, FimOptions(rate=1.0, seed=8)) for i in range(200)]
    for cut in cuts:
        assert cut is not None and 0 <= cut.start <= cut.end <= 5000
    assert len({(c.start, c.end) for c in cuts if c}) > 190  # positions really vary
    assert choose_cut("empty", 0, options) is None


def test_rates_are_what_is_configured() -> None:
    n = 4000
    cuts = [choose_cut(f"doc-{i}", 1000, FimOptions(rate=0.5, spm_rate=0.3)) for i in range(n)]
    fim = [c for c in cuts if c is not None]
    assert abs(len(fim) / n - 0.5) < 0.03
    assert abs(sum(c.mode == "spm" for c in fim) / len(fim) - 0.3) < 0.04
    assert all(choose_cut(f"doc-{i}", 1000, FimOptions(rate=0.0)) is None for i in range(200))
    assert all(choose_cut(f"doc-{i}", 1000, FimOptions(rate=1.0, spm_rate=0.0)).mode == "psm" for i in range(200))  # type: ignore[union-attr]


def test_pieces_cover_the_text() -> None:
    text = "abcdef"
    assert FimCut("psm", 2, 4).pieces(text) == ("ab", "cd", "ef")
    assert FimCut("spm", 0, 6).pieces(text) == ("", "abcdef", "")
    with pytest.raises(ValueError):
        FimOptions(rate=1.5)
    with pytest.raises(ValueError):
        FimOptions(unknown=1)  # type: ignore[call-arg]


def test_the_array_path_packing_uses_gives_the_list_path_ids(qwen: QwenTokenizer) -> None:
    """Packing takes ids as uint32 arrays, one flat array per batch: the same ids as lists and ``assemble``."""
    texts = [p.read_text() for p in sorted(STDLIB.glob("json/*.py"))]
    texts += ["cafe\u0301 \u212b", "ok \udc80 end", "<|endoftext|> <|fim_prefix|>", "", "# 注释: café ½ 😀\n"]
    arrays = qwen.encode_arrays(texts)
    assert all(a.dtype == np.uint32 for a in arrays)
    assert [a.tolist() for a in arrays] == qwen.encode_batch(texts)
    assert [a.tolist() for a in QwenTokenizer(threads=2).encode_arrays(texts)] == qwen.encode_batch(texts)

    fim, options = FimTokens.of(qwen), FimOptions(rate=0.7, spm_rate=0.5, seed=2)
    ids = [f"doc-{i}" for i in range(len(texts))]
    normalized = [qwen.normalize(t) for t in texts]
    flat, lengths, cuts, _ = encode_flat(qwen, ids, normalized, options, fim)
    assert flat.dtype == np.uint32 and len(flat) == lengths.sum()
    assert {c.mode for c in cuts if c is not None} == {"psm", "spm"} and None in cuts
    expected = []
    for text, cut in zip(normalized, cuts, strict=True):
        if cut is None:
            expected.append([*qwen.encode_batch([text])[0], fim.eos])
        else:
            pre, mid, suf = qwen.encode_batch(list(cut.pieces(text)))
            expected.append(assemble(cut.mode, pre, mid, suf, fim))
    assert encode_documents(qwen, ids, normalized, options, fim)[0] == expected
    assert flat.tolist() == [t for e in expected for t in e]
