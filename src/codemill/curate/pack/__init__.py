"""Packing: the Qwen2.5 tokenizer, file-level FIM, fixed-length sequences in Megatron and numpy shards, verify."""
