"""A LoRA adapter trained in torch on a GGUF's dequantised weights, applied by llama.cpp on that very GGUF.

The check that matters is numerical: llama.cpp with the adapter must score a text as torch with the same adapter
does (up to the quantised kernels' noise, measured on the base model), and visibly differently from the base.
Training only ``q_proj``/``k_proj`` is the case that fools a weaker check: SmolLM2 is a ``llama`` GGUF whose
q/k rows are stored permuted, and an adapter written without permuting its ``lora_b`` still loads, still
generates the trained answers, and is wrong (measured: NLL 1.09 against torch's 0.85, worse than the base's 1.07).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from test_train import TASKS, write_sft

from codemill.llm import LLMError, Prompt, Sampling, backend_from_spec
from codemill.llm.llama_process import LlamaProcess
from codemill.llm.models import gguf_path
from codemill.train import gguf_lora
from codemill.train.gguf_lora import base_architecture, write_gguf_lora
from codemill.train.sft import LoraOptions, TrainError, train_lora

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

TEXT = "".join(f"Q: {question}\nA: {answer}\n" for question, answer in TASKS)


def llama_nll(lora: Path | None) -> float:
    load = {"model_path": str(gguf_path("smollm2")), "n_ctx": 256, "n_batch": 256, "n_threads": 2}
    load |= {"logits_all": True, "verbose": False} | ({"lora_path": str(lora)} if lora else {})
    process = LlamaProcess(load, purpose="test")
    try:
        return process.call("token_nll", TEXT, 256)[1]
    finally:
        process.close()


def torch_nll(adapter: Path | None) -> float:
    from codemill.llm.transformers_backend import ensure_converted, load_model, load_tokenizer, resolve_hf_model

    folder = ensure_converted(resolve_hf_model("smollm2"))
    model = load_model(folder)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter))
    ids = load_tokenizer(folder)(TEXT, return_tensors="pt").input_ids
    with torch.no_grad():
        return float(model(ids, labels=ids).loss)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """q/k-only adapters of SmolLM2, trained hard on the eight tasks (about 25 s)."""
    folder = tmp_path_factory.mktemp("lora")
    options = LoraOptions(
        max_steps=10, max_length=256, learning_rate=5e-3, export="gguf-lora", target_modules=("q_proj", "k_proj")
    )
    yield train_lora("smollm2", write_sft(folder / "sft.jsonl"), folder / "model", options)


@pytest.mark.slow
def test_llama_cpp_applies_the_adapter_as_torch_does(trained: Path, tmp_path: Path) -> None:
    assert sorted(p.name for p in trained.iterdir()) == ["adapter", "adapter.gguf", "codemill-train.json"]
    base_llama, base_torch = llama_nll(None), torch_nll(None)
    adapted_llama, adapted_torch = llama_nll(trained / "adapter.gguf"), torch_nll(trained / "adapter")
    noise = abs(base_llama - base_torch)  # the quantised kernels against torch's float ones, same weights
    assert noise < 0.02
    assert adapted_llama < base_llama - 0.1  # the adapter changes the model where it was trained
    assert abs(adapted_llama - adapted_torch) < noise + 0.02

    with pytest.MonkeyPatch.context() as patch:  # the same adapter written without the rotary permutation
        patch.setattr(gguf_lora, "_permute_rows", lambda rows, heads: rows)
        from safetensors.torch import load_file

        state = load_file(trained / "adapter" / "adapter_model.safetensors")
        write_gguf_lora(state, gguf_path("smollm2"), 16, tmp_path / "unpermuted.gguf")
    assert abs(llama_nll(tmp_path / "unpermuted.gguf") - adapted_torch) > 0.1


@pytest.mark.slow
def test_the_adapter_spec_answers_differently_and_has_its_own_identity(trained: Path) -> None:
    spec = f"smollm2+lora:{trained / 'adapter.gguf'}"
    with backend_from_spec("smollm2", threads=1) as base, backend_from_spec(spec, threads=1) as adapted:
        assert adapted.identity.startswith(base.identity + "+lora:")  # cache entries are never shared
        question = Prompt.chat(TASKS[0][0])
        assert adapted.generate(question, Sampling(max_tokens=24)).text.strip() != (
            base.generate(question, Sampling(max_tokens=24)).text.strip()
        )
    with pytest.raises(LLMError, match="no such LoRA adapter"):
        backend_from_spec("smollm2+lora:/nonexistent/adapter.gguf")


def test_a_qwen2_adapter_is_named_and_shaped_as_llama_cpp_expects(tmp_path: Path) -> None:
    """Qwen2's GGUF stores q/k unpermuted: lora_a is (rank, n_in), lora_b (n_out, rank), under GGUF names."""
    import gguf

    base = gguf_path("qwen2.5-coder-0.5b-instruct")
    info = base_architecture(base)
    assert info["architecture"] == "qwen2" and info["block_count"] == 24
    rank, hidden = 4, 896
    generator = torch.Generator().manual_seed(0)
    state = {
        "base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight": torch.randn(rank, hidden),
        "base_model.model.model.layers.0.self_attn.q_proj.lora_B.default.weight": torch.randn(
            hidden, rank, generator=generator
        ),
        "base_model.model.model.layers.0.self_attn.q_proj.base_layer.weight": torch.zeros(hidden, hidden),
    }
    assert write_gguf_lora(state, base, 8, tmp_path / "a.gguf") == 1
    reader = gguf.GGUFReader(str(tmp_path / "a.gguf"))
    tensors = {t.name: t for t in reader.tensors}
    assert set(tensors) == {"blk.0.attn_q.weight.lora_a", "blk.0.attn_q.weight.lora_b"}
    b = np.asarray(tensors["blk.0.attn_q.weight.lora_b"].data)
    assert b.shape == (hidden, rank)
    np.testing.assert_array_equal(b, state["base_model.model.model.layers.0.self_attn.q_proj.lora_B.default.weight"])
    fields = {name: reader.fields[name] for name in ("general.type", "adapter.type", "adapter.lora.alpha")}
    assert bytes(fields["adapter.type"].parts[-1]).decode() == "lora"
    assert float(fields["adapter.lora.alpha"].parts[-1][0]) == 8.0

    with pytest.raises(ValueError, match="without its other half"):
        write_gguf_lora({k: v for k, v in state.items() if "lora_B" not in k}, base, 8, tmp_path / "b.gguf")
    with pytest.raises(ValueError, match="no LoRA tensors"):
        write_gguf_lora({}, base, 8, tmp_path / "c.gguf")


def test_gguf_lora_export_needs_a_gguf_base(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="export must be one of"):
        LoraOptions(export="onnx")
    folder = tmp_path / "hf"  # a Hugging Face folder: there is no GGUF for llama.cpp to apply an adapter on
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    with pytest.raises(TrainError, match="needs a GGUF base"):
        train_lora(f"hf:{folder}", write_sft(tmp_path / "sft.jsonl"), tmp_path / "out", LoraOptions(export="gguf-lora"))
    assert not (tmp_path / "out").exists()
