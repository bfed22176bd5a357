"""What a synthesis run leaves behind: SFT and DPO JSONL and a metadata table.

* ``sft.jsonl``: one ChatML conversation per accepted outcome, ``{"messages": [user instruction, assistant
  answer], "id", "language"}``; the answer is the first attempt that passed in the sandbox, so every SFT sample
  is a verified one.
* ``dpo.jsonl``: TRL's conversational preference format, ``{"prompt": [user instruction], "chosen": [assistant
  answer], "rejected": [assistant answer], "language", "candidate_id"}`` (messages as in ``sft.jsonl``, so a
  trainer applies the same chat template to both), one row per pair of :func:`~codemill.synth.verify.dpo_pairs`
  (a passing answer against each wrong answer to the same instruction).
* ``metadata.parquet``: one row per outcome, refused and failed ones included, so a run can be audited and the
  synergy and steering numbers recomputed from it (columns: :data:`METADATA_COLUMNS`).
* ``report.html`` is not written here: the command (``codemill synth``, the loop) renders it with
  :mod:`codemill.report.synth_html` from what :func:`codemill.synth.engine.run_synth` returns.

"Accepted" here means the outcome says so, was not refused, is not decontaminated and has a passing attempt: the
writer re-checks the last two rather than trust a flag set before decontamination ran. Every file is written
atomically, so an interrupted writer leaves the previous file or none, never half of one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from codemill.data.textio import atomic_path, atomic_write_text
from codemill.synth.schema import Attempt, Candidate, Outcome
from codemill.synth.verify import dpo_pairs

__all__ = [
    "METADATA_COLUMNS",
    "dpo_rows",
    "first_passing",
    "is_accepted",
    "metadata_table",
    "sft_rows",
    "write_outputs",
]

METADATA_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("agent", pa.string()),
        ("language", pa.string()),
        ("concept", pa.string()),
        ("difficulty", pa.string()),
        ("seed_id", pa.string()),
        ("lineage", pa.string()),  # JSON list of candidate ids, oldest first
        ("origin_language", pa.string()),
        ("refused", pa.string()),
        ("similarity", pa.float64()),
        ("checklist_score", pa.float64()),
        ("checklist", pa.string()),  # JSON {point: score}
        ("statuses", pa.string()),  # JSON list, one sandbox status (or "not_verified") per attempt
        ("passed", pa.bool_()),
        ("accepted", pa.bool_()),
        ("rejected_because", pa.list_(pa.string())),  # every gate a judged outcome failed
        ("mutation_score", pa.float64()),  # share of the solution's mutants its tests failed (null: none ran)
        ("decontaminated", pa.string()),
        ("models", pa.list_(pa.string())),  # the models of the transcript's turns, sorted
    ]
)
METADATA_COLUMNS = tuple(METADATA_SCHEMA.names)


def first_passing(candidate: Candidate) -> Attempt | None:
    """The first attempt whose verification passed (parsed or no grammar, and the sandbox said passed)."""
    return next((a for a in candidate.attempts if a.verification is not None and a.verification.passed), None)


def is_accepted(outcome: Outcome) -> bool:
    """Whether an outcome becomes an SFT sample (see the module's docstring)."""
    return (
        outcome.accepted
        and outcome.refused is None
        and outcome.decontaminated is None
        and first_passing(outcome.candidate) is not None
    )


def sft_rows(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    rows = []
    for outcome in outcomes:
        attempt = first_passing(outcome.candidate)
        if attempt is None or not is_accepted(outcome):
            continue
        rows.append(
            {
                "messages": [
                    {"role": "user", "content": outcome.candidate.instruction},
                    {"role": "assistant", "content": attempt.answer},
                ],
                "id": outcome.candidate.id,
                "language": outcome.candidate.language,
            }
        )
    return rows


def dpo_rows(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    """The preference pairs in TRL's conversational preference format (an explicit prompt, one message each)."""
    return [
        {
            **pair,
            "prompt": [{"role": "user", "content": pair["prompt"]}],
            "chosen": [{"role": "assistant", "content": pair["chosen"]}],
            "rejected": [{"role": "assistant", "content": pair["rejected"]}],
        }
        for pair in dpo_pairs(outcomes)
    ]


def metadata_table(outcomes: Sequence[Outcome]) -> pa.Table:
    """One row per outcome (refused and failed ones too), columns :data:`METADATA_COLUMNS`."""
    rows = []
    for outcome in outcomes:
        c = outcome.candidate
        rows.append(
            {
                "id": c.id,
                "agent": c.agent,
                "language": c.language,
                "concept": c.target.concept,
                "difficulty": c.target.difficulty,
                "seed_id": c.seed_id,
                "lineage": json.dumps(c.lineage),
                "origin_language": c.origin_language or c.language,
                "refused": outcome.refused,
                "similarity": float(outcome.similarity),
                "checklist_score": outcome.checklist_score,
                "checklist": json.dumps(outcome.checklist, sort_keys=True),
                "statuses": json.dumps(
                    [a.verification.status if a.verification else "not_verified" for a in c.attempts]
                ),
                "passed": outcome.passed,
                "accepted": is_accepted(outcome),
                "rejected_because": outcome.rejected_because,
                "mutation_score": (outcome.tests_audit or {}).get("mutation_score"),
                "decontaminated": outcome.decontaminated,
                "models": sorted({turn.model for turn in c.transcript if turn.model}),
            }
        )
    return pa.Table.from_pylist(rows, schema=METADATA_SCHEMA)


def _jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def write_outputs(outcomes: Sequence[Outcome], output: Path) -> dict[str, int]:
    """Write ``sft.jsonl``, ``dpo.jsonl`` and ``metadata.parquet`` into ``output``.

    Decontamination must have run before (:func:`codemill.synth.decontam.decontaminate_outcomes`): this writer
    only honours its verdict. Returns the number of rows of each file.
    """
    output.mkdir(parents=True, exist_ok=True)
    sft = sft_rows(outcomes)
    dpo = dpo_rows(outcomes)
    atomic_write_text(output / "sft.jsonl", _jsonl(sft))
    atomic_write_text(output / "dpo.jsonl", _jsonl(dpo))
    table = metadata_table(outcomes)
    with atomic_path(output / "metadata.parquet") as tmp:
        pq.write_table(table, tmp)
    return {"sft": len(sft), "dpo": len(dpo), "metadata": table.num_rows}
