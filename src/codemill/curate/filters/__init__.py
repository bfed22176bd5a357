"""The coarse-to-fine filtering ladder: level 0 format (``codemill.steps.basic``), level 1 rules (here)."""
