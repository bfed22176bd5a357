"""Built-in pipeline steps. Importing this package registers them by name for recipes."""

from codemill.curate.decontam import Decontaminate
from codemill.curate.dedup import Dedup
from codemill.curate.filters.classifier import ClassifierFilter
from codemill.curate.filters.code_removal import CodeRemoval
from codemill.curate.filters.rules import CodeRules
from codemill.curate.mix_step import MixStep
from codemill.curate.overlap import SourceOverlap
from codemill.curate.pack.step import PackStep
from codemill.steps.basic import FormatFilter, LanguageFilter

__all__ = [
    "ClassifierFilter",
    "CodeRemoval",
    "CodeRules",
    "Decontaminate",
    "Dedup",
    "FormatFilter",
    "LanguageFilter",
    "MixStep",
    "PackStep",
    "SourceOverlap",
]
