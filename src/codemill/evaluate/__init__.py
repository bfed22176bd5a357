"""Evaluation: benchmark modules (HumanEval, MBPP/MBPP+, MultiPL-E, HumanEval-FIM, CRUXEval), pass@k, scoring.

Scoring takes completions made elsewhere (``{"task_id", "completion"}`` or ``{"task_id", "solution"}`` rows) and
runs them through the sandbox; model backends come later. See :mod:`codemill.evaluate.score`.
"""

from codemill.evaluate.passk import pass_at_k, pass_at_k_table
from codemill.evaluate.score import canonical_rows, resolve, score, write

__all__ = ["canonical_rows", "pass_at_k", "pass_at_k_table", "resolve", "score", "write"]
