"""Pretraining-data stages: the filter ladder, dedup, decontamination, mixing, repo-level samples, packing."""
