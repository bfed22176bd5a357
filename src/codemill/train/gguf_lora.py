"""A LoRA adapter trained on a GGUF model's dequantised weights, written as a llama.cpp LoRA GGUF.

Why: the loop's student runs in llama.cpp from a quantised GGUF (Qwen2.5-Coder-0.5B Q4_K_M). Training happens in
torch on the same weights dequantised by transformers, so the adapter learns a correction *of those weights*.
Applying it in llama.cpp on top of the very GGUF it was trained against (``llama_adapter_lora_init``) evaluates the
trained model exactly as the base model was evaluated: same quantised weights, same kernels, same prompts; only
the low-rank update is added (in f32). Merging and re-quantising instead would round the update away into
4-bit blocks and change every weight of the model a little.

The file follows llama.cpp's ``convert_lora_to_gguf.py``: ``general.type = adapter``, ``adapter.type = lora``,
``adapter.lora.alpha``; per adapted weight ``W`` (GGUF name, e.g. ``blk.3.attn_q.weight``) two tensors
``W.lora_a`` (numpy shape ``(rank, n_in)``, peft's ``lora_A``) and ``W.lora_b`` (``(n_out, rank)``, peft's
``lora_B``); llama.cpp scales ``B·A`` by ``alpha / rank`` as peft does. For the ``llama`` architecture the GGUF
stores ``q_proj``/``k_proj`` rows permuted for its rotary kernel (transformers un-permutes them on load), so the
rows of their ``lora_b`` are permuted the same way here; ``qwen2`` stores them as they are.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["SUPPORTED_ARCHITECTURES", "base_architecture", "write_gguf_lora"]

SUPPORTED_ARCHITECTURES = ("llama", "qwen2")

_PEFT_NAME = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<side>[AB])(?:\.[^.]+)?\.weight$")


def _field(reader: Any, key: str) -> Any:
    field = reader.fields.get(key)
    if field is None:
        return None
    value = field.parts[field.data[0]]
    return bytes(value).decode() if value.dtype == np.uint8 else value.item()


def base_architecture(gguf_file: Path) -> dict[str, Any]:
    """``architecture``, ``block_count``, ``head_count`` and ``head_count_kv`` of a GGUF model (header only)."""
    from gguf import GGUFReader

    reader = GGUFReader(str(gguf_file))
    arch = _field(reader, "general.architecture")
    heads = _field(reader, f"{arch}.attention.head_count")
    return {
        "architecture": arch,
        "block_count": _field(reader, f"{arch}.block_count"),
        "head_count": heads,
        "head_count_kv": _field(reader, f"{arch}.attention.head_count_kv") or heads,
    }


def _permute_rows(rows: np.ndarray, heads: int) -> np.ndarray:
    """convert_hf_to_gguf.py's ``permute`` (Hugging Face row order → GGUF's) of an update matrix's output rows:
    ``permute(B·A) = permute(B)·A``, so permuting ``lora_b`` alone moves the whole update into GGUF order."""
    return rows.reshape(heads, 2, rows.shape[0] // heads // 2, *rows.shape[1:]).swapaxes(1, 2).reshape(rows.shape)


def write_gguf_lora(adapter_state: dict[str, Any], base_gguf: Path, alpha: float, output: Path) -> int:
    """Write peft's LoRA tensors (``model.state_dict()`` entries with ``lora_A``/``lora_B``) for ``base_gguf``.

    Returns the number of adapted weights. Refuses an architecture whose tensor layout is not handled here, and a
    module name that has no GGUF counterpart, rather than writing an adapter llama.cpp would apply wrongly.
    """
    import gguf

    info = base_architecture(base_gguf)
    arch = info["architecture"]
    if arch not in SUPPORTED_ARCHITECTURES:
        raise ValueError(
            f"{base_gguf.name}: LoRA export for architecture {arch!r} is not implemented "
            f"(supported: {', '.join(SUPPORTED_ARCHITECTURES)}); train with export='merged' instead"
        )
    arch_enum = next(key for key, name in gguf.MODEL_ARCH_NAMES.items() if name == arch)
    names = gguf.get_tensor_name_map(arch_enum, int(info["block_count"]))
    pairs: dict[str, dict[str, np.ndarray]] = {}
    for key, tensor in adapter_state.items():
        match = _PEFT_NAME.match(key)
        if match is None:
            continue
        module = match["module"]
        target = names.get_name(f"{module}.weight", try_suffixes=(".weight",))
        if target is None:
            raise ValueError(f"{module}: no GGUF tensor of {arch} corresponds to this adapted module")
        array = tensor.detach().float().cpu().numpy()
        if match["side"] == "B" and arch == "llama" and module.endswith(("q_proj", "k_proj")):
            heads = info["head_count"] if module.endswith("q_proj") else info["head_count_kv"]
            array = _permute_rows(array, int(heads))
        pairs.setdefault(target, {})[match["side"]] = np.ascontiguousarray(array, dtype=np.float32)
    if not pairs:
        raise ValueError("the model holds no LoRA tensors to export")
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    writer = gguf.GGUFWriter(str(partial), arch=arch)
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(alpha))
    for target, sides in sorted(pairs.items()):
        if set(sides) != {"A", "B"}:
            raise ValueError(f"{target}: the adapter holds lora_{''.join(sides)} without its other half")
        writer.add_tensor(f"{target}.lora_a", sides["A"])
        writer.add_tensor(f"{target}.lora_b", sides["B"])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    partial.replace(output)
    return len(pairs)
