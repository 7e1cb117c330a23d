"""Language models from their config.json, safetensors and GGUF files,
through the Python package (figures from tests/fixtures/llm, written by
transformers and the gguf package: scripts/make_llm_fixtures.py)."""

import os

import pytest

import nncost

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
LLM = os.path.join(ROOT, "tests", "fixtures", "llm")


def test_config_prefill_and_decode():
    # Mixtral-8x7B's published config: PyTorch's num_parameters() on the
    # meta device, 2 of 8 experts per token.
    path = os.path.join(LLM, "real", "mixtral_8x7b.config.json")
    r = nncost.analyze(path)
    assert r.params == 46_702_792_704
    assert r.facts["params_active"] == 12_879_925_248
    assert r.facts["model_type"] == "mixtral"
    d = nncost.analyze(path, phase="decode", dims={"batch": 1, "ctx": 4096})
    # 32 layers, 8 KV heads of 128, keys and values.
    assert d.facts["kv_cache_elements"].evaluate(ctx=4096) == 32 * 8 * 128 * 2 * 4096
    assert isinstance(d.macs, int)


def test_tiny_llama_matches_flop_counter_mode_on_decode():
    # FlopCounterMode on one decoding step of the tiny Llama (batch 2 after
    # 5 tokens) counted 284,672 FLOPs, 2 per MAC.
    r = nncost.analyze(os.path.join(LLM, "llama"), phase="decode", dims={"batch": 2, "ctx": 5})
    assert r.macs == 284_672 // 2


def test_checkpoints():
    st = nncost.analyze(os.path.join(LLM, "llama", "model.safetensors"))
    assert st.facts["checkpoint_check"] == "all 21 tensors match"
    gguf = nncost.analyze(os.path.join(LLM, "gguf", "tiny_llama.gguf"))
    # Q4_0, Q8_0, F16 and F32 tensors: the file's 73,216 bytes.
    assert gguf.params == 78_144
    assert gguf.totals["param_bytes"] == 73_216


def test_bad_phase_is_an_error():
    with pytest.raises(nncost.NncostError, match="phase="):
        nncost.analyze(os.path.join(LLM, "llama"), phase="train")


def test_bytes_of_every_format():
    # The bytes of a config, a GGUF file and a safetensors file are told
    # apart by their first bytes.
    with open(os.path.join(LLM, "llama", "config.json"), "rb") as f:
        config = nncost.analyze(f.read(), name="config.json", phase="decode", dims={"batch": 2, "ctx": 5})
    assert config.macs == 284_672 // 2
    with open(os.path.join(LLM, "gguf", "tiny_llama.gguf"), "rb") as f:
        gguf = nncost.analyze(f.read())
    assert gguf.params == 78_144
    assert gguf.facts["model_type"] == "llama"
    with open(os.path.join(LLM, "gpt2", "model.safetensors"), "rb") as f:
        st = nncost.analyze(f.read())
    # No config beside bytes: GPT-2's 112,384 bfloat16 parameters alone.
    assert st.params == 112_384
    assert st.totals["param_bytes"] == 2 * 112_384
