"""The agents' memory bank: MinHash refusal of near-repeats, persistence, torn lines, real embeddings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from codemill.synth.embed import Embedder, LlamaEmbedder
from codemill.synth.memory import NUM_PERM, MemoryBank, normalise

PALINDROME = (
    "Write a Python function `is_palindrome(text)` that returns True when the given string reads the same "
    "forwards and backwards, ignoring case, spaces and punctuation, and False otherwise. For example "
    "'A man, a plan, a canal: Panama' is a palindrome and 'hello' is not. Treat the empty string as a "
    "palindrome. "
    "The function must run in linear time and must not build a reversed copy of the whole string."
)
RENAMED = PALINDROME.replace("is_palindrome", "check_palindrome")
WORD_CHANGED = PALINDROME.replace("linear time", "constant time")
UNRELATED = (
    "Implement a Java class `LruCache<K, V>` with a fixed capacity that supports `get(key)` and `put(key, value)` "
    "in constant time; when the cache is full, `put` evicts the least recently used entry. Include unit tests "
    "for eviction order and for updating an existing key."
)


def bank(path: Path, embedder: Embedder | None = None, embedding_threshold: float = 0.95) -> MemoryBank:
    return MemoryBank(path, minhash_threshold=0.7, embedding_threshold=embedding_threshold, embedder=embedder)


def test_empty_memory_accepts_everything(tmp_path: Path) -> None:
    memory = bank(tmp_path / "python.jsonl")
    assert len(memory) == 0
    assert memory.check(PALINDROME) == (None, 0.0)


@pytest.mark.parametrize("variant", [RENAMED, WORD_CHANGED], ids=["identifier-renamed", "word-changed"])
def test_near_duplicate_is_refused_by_minhash(tmp_path: Path, variant: str) -> None:
    memory = bank(tmp_path / "python.jsonl")
    memory.add("py-1", PALINDROME)
    reason, similarity = memory.check(variant)
    assert reason is not None
    assert reason.startswith("minhash ") and reason.endswith(">= 0.70 with py-1")
    assert 0.7 <= similarity < 1.0
    # Case and layout are normalised away: a reflowed, upper-cased copy is the same text.
    reason, similarity = memory.check("\n  ".join(PALINDROME.upper().split(" ")))
    assert reason is not None and similarity == 1.0


def test_unrelated_instruction_is_accepted(tmp_path: Path) -> None:
    memory = bank(tmp_path / "python.jsonl")
    memory.add("py-1", PALINDROME)
    memory.add("py-2", RENAMED)
    reason, similarity = memory.check(UNRELATED)
    assert reason is None
    assert 0.0 <= similarity < 0.2


def test_short_texts_use_the_words_they_have(tmp_path: Path) -> None:
    memory = bank(tmp_path / "python.jsonl")
    memory.add("a", "reverse list")
    assert memory.check("Reverse   LIST")[0] is not None
    assert memory.check("sort dict")[0] is None
    assert normalise("  Reverse \n\t LIST ") == "reverse list"


def test_memory_persists_across_banks(tmp_path: Path) -> None:
    path = tmp_path / "agents" / "python.jsonl"
    first = bank(path)
    first.add("py-1", PALINDROME)
    first.add("py-2", UNRELATED)
    first.add("py-1", PALINDROME)  # a resumed run replaying an addition: kept once
    assert len(first) == 2

    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    entry = json.loads(lines[0])
    assert entry["id"] == "py-1" and entry["text"] == PALINDROME
    assert len(entry["signature"]) == NUM_PERM and entry["embedding"] is None

    second = bank(path)
    assert len(second) == 2 and "py-2" in second
    reason, _ = second.check(RENAMED)
    assert reason is not None and reason.endswith("with py-1")
    second.add("py-3", "Count the vowels in a string.")
    assert len(bank(path)) == 3


def test_torn_last_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "python.jsonl"
    memory = bank(path)
    memory.add("py-1", PALINDROME)
    memory.add("py-2", UNRELATED)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - 40])  # killed in the middle of writing py-2

    reopened = bank(path)
    assert len(reopened) == 1 and "py-1" in reopened and "py-2" not in reopened
    assert reopened.check(RENAMED)[0] is not None
    # The next entry starts on a line of its own: the file stays valid JSONL.
    reopened.add("py-2", UNRELATED)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["py-1", "py-2"]
    assert len(bank(path)) == 2


def test_corrupt_middle_line_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "python.jsonl"
    memory = bank(path)
    memory.add("py-1", PALINDROME)
    path.write_text("{not json\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ValueError, match=r"python\.jsonl:1: corrupt"):
        bank(path)


class BagOfWords:
    """A test double: hashed bag-of-words vectors, so rewordings with shared words are close."""

    def __init__(self, identity: str = "bag-of-words") -> None:
        self.identity = identity
        self.calls: list[str] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls += texts
        out = np.zeros((len(texts), 64), np.float32)
        for row, text in enumerate(texts):
            for word in normalise(text).split():
                out[row, sum(word.encode()) % 64] += 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_embedding_refusal_and_reembedding_on_model_change(tmp_path: Path) -> None:
    path = tmp_path / "python.jsonl"
    embedder = BagOfWords()
    memory = bank(path, embedder, embedding_threshold=0.9)
    memory.add("py-1", "sum the numbers of a list")
    # Same words in another order: no shared 3-gram worth a MinHash refusal, same bag of words.
    reason, similarity = memory.check("numbers list the sum of a")
    assert reason is not None and reason.startswith("embedding 1.00 >= 0.90 with py-1")
    assert similarity == pytest.approx(1.0)
    assert json.loads(path.read_text(encoding="utf-8"))["embedder"] == "bag-of-words"

    # Another model's vectors are never compared with this one's: stored entries are re-embedded at load.
    other = BagOfWords("other-model")
    reopened = bank(path, other, embedding_threshold=0.9)
    assert other.calls == ["sum the numbers of a list"]
    assert reopened.check("numbers list the sum of a")[0] is not None
    # Without an embedder, only MinHash decides.
    assert bank(path).check("numbers list the sum of a")[0] is None


@pytest.fixture(scope="module")
def smollm2() -> LlamaEmbedder:
    return LlamaEmbedder("smollm2", n_ctx=256)


@pytest.mark.slow
def test_smollm2_embeddings_rank_a_paraphrase_above_an_unrelated_text(smollm2: LlamaEmbedder) -> None:
    texts = [
        "Write a function that returns the sum of a list of integers.",
        "Implement a function which computes the total of all numbers in a list.",
        "Parse an HTTP header line into a key and a value, rejecting malformed input.",
        "word " * 2000,  # longer than the window: truncated, not an error
    ]
    vectors = smollm2.embed(texts)
    assert vectors.shape[0] == 4 and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    paraphrase, unrelated = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])
    assert paraphrase > unrelated
    # The same text gives the same vector whatever it was embedded with.
    np.testing.assert_allclose(smollm2.embed([texts[0]])[0], vectors[0], atol=1e-6)
    assert smollm2.identity.startswith("llama.cpp-mean:SmolLM2-135M-Instruct.Q4_1.gguf:")


@pytest.mark.slow
def test_smollm2_embedding_threshold_refuses_a_paraphrase(tmp_path: Path, smollm2: LlamaEmbedder) -> None:
    original = "Write a function that returns the sum of a list of integers."
    paraphrase = "Implement a function which computes the total of all numbers in a list."
    unrelated = "Parse an HTTP header line into a key and a value, rejecting malformed input."
    vectors = smollm2.embed([original, paraphrase, unrelated])
    cut = float((vectors[0] @ vectors[1] + vectors[0] @ vectors[2]) / 2)  # between the two, whatever the model

    memory = bank(tmp_path / "python.jsonl", smollm2, embedding_threshold=cut)
    memory.add("py-1", original)
    reason, similarity = memory.check(paraphrase)
    assert reason is not None and reason.startswith("embedding ") and reason.endswith("with py-1")
    assert similarity == pytest.approx(float(vectors[0] @ vectors[1]), abs=1e-5)
    assert memory.check(unrelated)[0] is None
    # Embeddings persist with the entry and are reused by the next bank on the same model.
    entry = json.loads((tmp_path / "python.jsonl").read_text(encoding="utf-8"))
    assert len(entry["embedding"]) == vectors.shape[1] and entry["embedder"] == smollm2.identity
    assert bank(tmp_path / "python.jsonl", smollm2, embedding_threshold=cut).check(paraphrase)[0] is not None


def test_excluded_ids_are_not_compared(tmp_path: Path) -> None:
    bank = MemoryBank(tmp_path / "m.jsonl", 0.7, 0.95)
    text = "Write a function that returns the sum of the squares of a list of integers given as input."
    bank.add("round3-slot0", text)
    assert bank.check(text)[0] is not None
    assert bank.check(text, exclude={"round3-slot0"}) == (None, 0.0)
