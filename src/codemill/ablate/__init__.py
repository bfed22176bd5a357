"""``codemill ablate``: the report's data ablations in miniature.

Qwen2.5-Coder justifies its coarse-to-fine ladder by training a model on each stage's output (scores rise stage by
stage, the report's Figure 1) and its 7:2:1 code:text:math mix by training on other ratios (Table 3). This package
runs both experiments at a size a laptop affords: datasets cut from one curated run by quality level or by mix ratio,
all at one token budget (``arms.py``), a small Qwen2-architecture model trained from scratch on each with several
seeds (``training.py``, over a trimmed vocabulary that loses nothing: ``vocab.py``), and loss and bits per byte on
held-out sets that no arm saw (``heldout.py``). ``engine.py`` runs it all, resumable per arm and seed, and
``ablation.json`` holds each arm's mean and spread over the seeds.
"""
