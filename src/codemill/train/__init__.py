"""The training step of the loop: a built-in LoRA fine-tune (:func:`train_lora`) or any external trainer
(:func:`run_external`); both end in a ``--model`` spec that evaluation can load.

Needs the ``train`` extra (torch, transformers, peft, accelerate, gguf), imported only when a model is loaded.
"""

from codemill.train.external import run_external
from codemill.train.sft import (
    IGNORE_INDEX,
    Example,
    LoraOptions,
    TrainError,
    evaluate_loss,
    read_sft,
    render_example,
    train_lora,
)

__all__ = [
    "IGNORE_INDEX",
    "Example",
    "LoraOptions",
    "TrainError",
    "evaluate_loss",
    "read_sft",
    "render_example",
    "run_external",
    "train_lora",
]
