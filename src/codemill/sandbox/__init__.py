"""Run untrusted programs in many languages, isolated and limited: the check behind synthesis and evaluation.

``run(Request) -> Result`` and ``run_many([...])`` are the API; ``languages.py`` is the table of
languages, ``isolation.py`` the namespaces and limits, ``cli.py`` the ``codemill sandbox`` commands.
"""

from codemill.sandbox.pool import run_many
from codemill.sandbox.runner import run
from codemill.sandbox.schema import Limits, LimitsOverride, PhaseResult, Request, Result

__all__ = ["Limits", "LimitsOverride", "PhaseResult", "Request", "Result", "run", "run_many"]
