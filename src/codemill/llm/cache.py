"""A content-addressed answer cache, so an interrupted run resumes without asking the model again.

The key is the SHA-256 of the backend's identity, the prompt and every sampling setting (the seed included, so
each sample of a prompt has its own entry). Values are the generation as JSON. SQLite in WAL mode: one file,
safe across threads of one process and across processes, and every answer is committed as soon as it comes.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path

from codemill.llm.schema import Generation, Prompt, Sampling

__all__ = ["Cache", "cache_key"]


def cache_key(identity: str, prompt: Prompt, sampling: Sampling) -> str:
    payload = json.dumps([identity, prompt.as_key(), sampling.as_key()], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class Cache:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._db.commit()

    def get(self, key: str) -> Generation | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM answers WHERE key = ?", (key,)).fetchone()
        return Generation.from_json(json.loads(row[0]), cached=True) if row else None

    def put(self, key: str, generation: Generation) -> None:
        """Store an answer; failed generations are not stored, so a rerun asks again."""
        if generation.error is not None:
            return
        value = json.dumps(generation.to_json(), ensure_ascii=False)
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO answers (key, value) VALUES (?, ?)", (key, value))
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM answers").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
