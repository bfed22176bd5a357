"""Benchmark decontamination."""

from codemill.curate.decontam.step import Decontaminate

__all__ = ["Decontaminate"]
