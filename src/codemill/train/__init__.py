"""The training step of the loop: a built-in LoRA fine-tune (:func:`train_lora`) or any external trainer
(:func:`run_external`); both end in a ``--model`` spec that evaluation can load.

Needs the ``train`` extra (torch, transformers, peft, accelerate, gguf), imported only when a model is loaded.
"""

from codemill.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(  # imported when used: ``codemill train --help`` needs none of it
    __name__,
    {
        "external": ("run_external",),
        "sft": (
            "IGNORE_INDEX",
            "Example",
            "LoraOptions",
            "TrainError",
            "evaluate_loss",
            "read_sft",
            "render_example",
            "train_lora",
        ),
    },
)
