#!/usr/bin/env python3
"""Writes tests/fixtures/llm/: reference numbers from PyTorch / transformers /
gguf that the Rust ``llm`` readers (config.json, safetensors and GGUF headers)
are checked against.  Nothing is downloaded: every config is written below
from a ``transformers`` config class, models get random weights
(``torch.manual_seed(0)`` before each one), ``HF_HUB_OFFLINE=1`` is set before
transformers is imported and ``from_pretrained`` is never called.

What it writes (under tests/fixtures/llm/):

* ``<family>/`` for each tiny model of FAMILIES below (hidden 64, 2-3 layers,
  4 heads, vocab 128, ...):
  - ``config.json``: ``model.config.to_json_string(use_diff=False)`` with
    ``architectures`` = [the class instantiated];
  - ``reference.json``: class, versions, ``num_parameters`` (also with
    ``exclude_embeddings=True``), the parameter list (names and shapes, tied
    weights counted once as PyTorch does), persistent buffers, tied aliases,
    FLOPs of a prefill and (decoder-only LMs) of one decode step from
    ``torch.utils.flop_counter.FlopCounterMode``, the KV cache after the
    decode's context, and for MoE models the number of tokens each expert got;
  - ``model.safetensors`` for llama (float32), mixtral (float16), gpt2
    (bfloat16) and deepseek_v3 (float16, router in float32), written by
    ``save_pretrained`` (so with the tensor names a hub checkpoint has, see
    ``write_weights``);
  - ``llama_sharded/``: the llama weights again as two shards plus
    ``model.safetensors.index.json``.
* ``gguf/tiny_llama.gguf``, ``gguf/tiny_moe.gguf`` and ``gguf/reference.json``
  (header facts of both files and the installed gguf package's
  ``GGML_QUANT_SIZES`` table).
* ``real/<name>.config.json`` and ``real/<name>.reference.json`` for a few
  well-known models from their published hyper-parameters, instantiated on the
  meta device (no memory, no weights) to count their parameters.

Usage (repository root; needs torch, transformers, gguf and safetensors, see
scripts/requirements-fixtures.txt, plus `pip install gguf`; ~10 s on one core)::

    /work/pyenv/bin/python scripts/make_llm_fixtures.py

Re-running gives the same files byte for byte with the same package versions.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# The progress bars and deprecation chatter of save_pretrained / the cache
# kwargs would bury the mismatch lines this script prints.
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import gguf  # noqa: E402
from safetensors import safe_open  # noqa: E402

transformers.logging.set_verbosity_error()
try:
    transformers.utils.logging.disable_progress_bar()
except AttributeError:
    pass

# The machine is shared; one thread also keeps float reductions (and so the
# MoE routing decisions) the same from run to run.
torch.set_num_threads(1)

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT = REPO_ROOT / "tests" / "fixtures" / "llm"

BATCH = 2
SEQ = 7  # prefill length; larger than every sliding window below
CTX = 5  # decode: context already in the cache before the one new token

# Shared tiny sizes: every family below starts from these, so that a Rust
# test can tell the families apart by structure alone.
HIDDEN = 64
HEADS = 4
KV_HEADS = 2
HEAD_DIM = 16
INTER = 96
VOCAB = 128
MAX_POS = 64
SLIDING = 4  # < SEQ and < CTX + 1, so the window really cuts something

T = transformers


def dump(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")


def common_decoder(**over):
    """Keyword arguments shared by the llama-like config classes."""
    kw = dict(
        hidden_size=HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=HEADS,
        num_key_value_heads=KV_HEADS,
        intermediate_size=INTER,
        vocab_size=VOCAB,
        max_position_embeddings=MAX_POS,
    )
    kw.update(over)
    return kw


# --------------------------------------------------------------------------
# The tiny families.  Each entry: folder name -> (model class name, config
# factory, kind, options).  kind: "causal" (decoder-only LM: prefill + decode
# + KV cache), "encoder" (input_ids only), "seq2seq" (T5), "vision".
# options: "weights" = dtype of a model.safetensors to write.
# --------------------------------------------------------------------------

def families():
    F = {}
    F["llama"] = ("LlamaForCausalLM", lambda: T.LlamaConfig(
        **common_decoder(head_dim=HEAD_DIM, tie_word_embeddings=False)),
        "causal", {"weights": torch.float32})
    F["llama_tied"] = ("LlamaForCausalLM", lambda: T.LlamaConfig(
        **common_decoder(head_dim=HEAD_DIM, tie_word_embeddings=True)),
        "causal", {})
    # Biases on every projection: a reader that assumes bias-free llamas
    # would count 64*3+32*2+96*2+... too few parameters here.
    F["llama_bias"] = ("LlamaForCausalLM", lambda: T.LlamaConfig(
        **common_decoder(head_dim=HEAD_DIM, attention_bias=True, mlp_bias=True)),
        "causal", {})
    F["mistral"] = ("MistralForCausalLM", lambda: T.MistralConfig(
        **common_decoder(head_dim=HEAD_DIM, sliding_window=SLIDING)),
        "causal", {})
    F["mixtral"] = ("MixtralForCausalLM", lambda: T.MixtralConfig(
        **common_decoder(head_dim=HEAD_DIM, num_local_experts=4,
                         num_experts_per_tok=2)),
        "causal", {"weights": torch.float16})
    F["qwen2"] = ("Qwen2ForCausalLM", lambda: T.Qwen2Config(
        **common_decoder(tie_word_embeddings=False)), "causal", {})
    F["qwen3"] = ("Qwen3ForCausalLM", lambda: T.Qwen3Config(
        **common_decoder(head_dim=HEAD_DIM, tie_word_embeddings=False)),
        "causal", {})
    # 3 layers: 0 and 2 sparse, 1 dense (mlp_only_layers) with the full
    # intermediate_size; the sparse ones have a shared expert and its gate.
    F["qwen2_moe"] = ("Qwen2MoeForCausalLM", lambda: T.Qwen2MoeConfig(
        **common_decoder(num_hidden_layers=3, num_experts=4,
                         num_experts_per_tok=2, moe_intermediate_size=48,
                         shared_expert_intermediate_size=INTER,
                         decoder_sparse_step=1, mlp_only_layers=[1],
                         tie_word_embeddings=False)),
        "causal", {})
    F["qwen3_moe"] = ("Qwen3MoeForCausalLM", lambda: T.Qwen3MoeConfig(
        **common_decoder(head_dim=HEAD_DIM, num_experts=4,
                         num_experts_per_tok=2, moe_intermediate_size=48,
                         norm_topk_prob=True, decoder_sparse_step=1,
                         mlp_only_layers=[], tie_word_embeddings=False)),
        "causal", {})
    # head_dim 32 != hidden/heads = 16, and one key/value head (Gemma-2B's
    # multi-query attention).
    F["gemma"] = ("GemmaForCausalLM", lambda: T.GemmaConfig(
        **common_decoder(head_dim=32, num_key_value_heads=1)), "causal", {})
    F["gemma2"] = ("Gemma2ForCausalLM", lambda: T.Gemma2Config(
        **common_decoder(head_dim=HEAD_DIM, sliding_window=SLIDING,
                         query_pre_attn_scalar=HEAD_DIM,
                         attn_logit_softcapping=50.0,
                         final_logit_softcapping=30.0)),
        "causal", {})
    # Gemma 3's pattern is 5 sliding layers then 1 global; 2 + 1 keeps the
    # alternation in 3 layers.
    F["gemma3"] = ("Gemma3ForCausalLM", lambda: T.Gemma3TextConfig(
        **common_decoder(num_hidden_layers=3, head_dim=HEAD_DIM,
                         sliding_window=SLIDING,
                         query_pre_attn_scalar=HEAD_DIM,
                         layer_types=["sliding_attention", "sliding_attention",
                                      "full_attention"])),
        "causal", {})
    # Phi-3's defaults name token ids of its 32k vocabulary; padding_idx must
    # lie inside the tiny one.
    F["phi3"] = ("Phi3ForCausalLM", lambda: T.Phi3Config(
        **common_decoder(pad_token_id=0, bos_token_id=1, eos_token_id=2,
                         original_max_position_embeddings=MAX_POS)),
        "causal", {})
    # n_inner left None as in the real GPT-2 configs: the MLP is 4 * n_embd.
    F["gpt2"] = ("GPT2LMHeadModel", lambda: T.GPT2Config(
        n_embd=HIDDEN, n_layer=2, n_head=HEADS, n_positions=MAX_POS,
        vocab_size=VOCAB, bos_token_id=0, eos_token_id=0),
        "causal", {"weights": torch.bfloat16})
    F["gpt_neox"] = ("GPTNeoXForCausalLM", lambda: T.GPTNeoXConfig(
        hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=HEADS,
        intermediate_size=4 * HIDDEN, vocab_size=VOCAB,
        max_position_embeddings=MAX_POS, use_parallel_residual=True,
        tie_word_embeddings=False, bos_token_id=0, eos_token_id=0,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                         "partial_rotary_factor": 0.25}),
        "causal", {})
    # Falcon-40B/180B style: grouped key/values in one fused query_key_value,
    # two layer norms feeding attention and MLP in parallel.
    F["falcon"] = ("FalconForCausalLM", lambda: T.FalconConfig(
        hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=HEADS,
        num_kv_heads=KV_HEADS, new_decoder_architecture=True,
        num_ln_in_parallel_attn=2, parallel_attn=True, bias=False,
        alibi=False, vocab_size=VOCAB, max_position_embeddings=MAX_POS,
        bos_token_id=0, eos_token_id=0),
        "causal", {})
    # Falcon-7B style: one key/value head (multi_query), one layer norm.
    F["falcon_mqa"] = ("FalconForCausalLM", lambda: T.FalconConfig(
        hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=HEADS,
        multi_query=True, new_decoder_architecture=False, parallel_attn=True,
        bias=False, alibi=False, vocab_size=VOCAB,
        max_position_embeddings=MAX_POS, bos_token_id=0, eos_token_id=0),
        "causal", {})
    F["olmo"] = ("OlmoForCausalLM", lambda: T.OlmoConfig(
        **common_decoder(pad_token_id=0, bos_token_id=None, eos_token_id=0)),
        "causal", {})
    F["olmo2"] = ("Olmo2ForCausalLM", lambda: T.Olmo2Config(
        **common_decoder(pad_token_id=0, bos_token_id=None, eos_token_id=0)),
        "causal", {})
    # Multi-head latent attention.  V2: q_lora_rank None (V2-Lite: a plain
    # q_proj), V3: a low-rank query.  Layer 0 dense (first_k_dense_replace),
    # layer 1 routed experts + one shared expert.
    mla = dict(kv_lora_rank=32, qk_nope_head_dim=16, qk_rope_head_dim=8,
               v_head_dim=16, n_routed_experts=4, num_experts_per_tok=2,
               n_shared_experts=1, first_k_dense_replace=1,
               moe_intermediate_size=48)
    F["deepseek_v2"] = ("DeepseekV2ForCausalLM", lambda: T.DeepseekV2Config(
        **common_decoder(num_key_value_heads=HEADS, q_lora_rank=None,
                         topk_method="greedy", bos_token_id=0, eos_token_id=1,
                         **mla)),
        "causal", {})
    # n_group 2 / topk_group 1: the group-limited routing of V3 (8 / 4 in
    # the real model) still has something to choose between.
    F["deepseek_v3"] = ("DeepseekV3ForCausalLM", lambda: T.DeepseekV3Config(
        **common_decoder(num_key_value_heads=HEADS, q_lora_rank=32, n_group=2,
                         topk_group=1, bos_token_id=0, eos_token_id=1, **mla)),
        "causal", {"weights": torch.float16})
    F["bert"] = ("BertModel", lambda: T.BertConfig(
        hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=HEADS,
        intermediate_size=INTER, vocab_size=VOCAB,
        max_position_embeddings=MAX_POS, type_vocab_size=2),
        "encoder", {})
    # RoBERTa's positions start after padding_idx (1), hence 2 extra rows as
    # in the real 514-row table.
    F["roberta"] = ("RobertaModel", lambda: T.RobertaConfig(
        hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=HEADS,
        intermediate_size=INTER, vocab_size=VOCAB,
        max_position_embeddings=MAX_POS + 2, type_vocab_size=1,
        pad_token_id=1, bos_token_id=0, eos_token_id=2),
        "encoder", {})
    # t5-small's layout: ReLU FFN, relative attention bias in the first
    # layer of each stack, tied embeddings (lm_head scaled by d_model**-0.5).
    F["t5"] = ("T5ForConditionalGeneration", lambda: T.T5Config(
        d_model=HIDDEN, d_kv=HEAD_DIM, d_ff=INTER, num_layers=2,
        num_decoder_layers=2, num_heads=HEADS, vocab_size=VOCAB,
        feed_forward_proj="relu", tie_word_embeddings=True,
        decoder_start_token_id=0, pad_token_id=0, eos_token_id=1),
        "seq2seq", {})
    F["vit"] = ("ViTModel", lambda: T.ViTConfig(
        hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=HEADS,
        intermediate_size=INTER, image_size=32, patch_size=8,
        num_channels=3), "vision", {})
    F["clip_vision"] = ("CLIPVisionModel", lambda: T.CLIPVisionConfig(
        hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=HEADS,
        intermediate_size=INTER, image_size=32, patch_size=8,
        num_channels=3, projection_dim=32), "vision", {})
    return F


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def build(cls_name: str, config, device=None):
    cls = getattr(T, cls_name)
    config.architectures = [cls_name]
    kwargs = {}
    if device is None:
        # Eager attention: the score and value matmuls appear as aten.bmm /
        # matmul that FlopCounterMode sees.  Eager experts: a plain loop of
        # F.linear over the experts that got tokens (the default
        # "grouped_mm" would hide them in one fused op).
        kwargs["attn_implementation"] = "eager"
        kwargs["experts_implementation"] = "eager"
    try:
        model = cls._from_config(config, **kwargs)
    except (TypeError, ValueError):
        kwargs.pop("experts_implementation", None)
        model = cls._from_config(config, **kwargs)
    if device is None and model.config.dtype is None:
        # Most classes leave `dtype` unset until save_pretrained; a hub
        # config.json has it, so say what the weights are.
        model.config.dtype = next(model.parameters()).dtype
    return model.eval()


def shape(t) -> list[int]:
    return [int(d) for d in t.shape]


def tensor_tables(model):
    """Parameters (deduplicated as named_parameters() does), persistent
    buffers and the state_dict keys that alias an earlier tensor."""
    first: dict[int, str] = {}
    params, tied = [], []
    for name, p in model.named_parameters(remove_duplicate=False):
        if id(p) in first:
            tied.append([name, first[id(p)]])
        else:
            first[id(p)] = name
            params.append([name, shape(p)])
    assert [n for n, _ in params] == [n for n, _ in model.named_parameters()]
    all_param_names = {n for n, _ in model.named_parameters(remove_duplicate=False)}
    persistent = [k for k in model.state_dict() if k not in all_param_names]
    by_name = dict(model.named_buffers(remove_duplicate=False))
    seen: dict[int, str] = {}
    buffers = []
    for name in persistent:
        b = by_name[name]
        if id(b) in seen:
            tied.append([name, seen[id(b)]])
        else:
            seen[id(b)] = name
            buffers.append([name, shape(b), str(b.dtype).replace("torch.", "")])
    return params, buffers, tied


class ExpertTally:
    """Counts the tokens each expert gets, from the (hidden, top_k_index,
    top_k_weights) arguments every transformers `*Experts` module takes, and
    checks that each token went to top-k distinct experts."""

    def __init__(self, model):
        self.counts: dict[str, list[int]] = {}
        self.handles = []
        for name, mod in model.named_modules():
            if type(mod).__name__.endswith("Experts") and hasattr(mod, "num_experts"):
                self.handles.append(mod.register_forward_pre_hook(self._hook(name, mod.num_experts)))

    def _hook(self, name, n):
        def hook(_mod, args):
            idx = args[1]
            rows = idx.reshape(-1, idx.shape[-1])
            for r in rows.tolist():
                assert len(set(r)) == len(r), f"{name}: a token routed twice to one expert: {r}"
            per = torch.bincount(rows.reshape(-1), minlength=n).tolist()
            assert sum(per) == rows.shape[0] * rows.shape[1]
            self.counts[name] = {"tokens": int(rows.shape[0]), "top_k": int(rows.shape[1]),
                                 "per_expert": per}
        return hook

    def take(self):
        c, self.counts = self.counts, {}
        return c

    def close(self):
        for h in self.handles:
            h.remove()


def count_flops(fn):
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        out = fn()
    by_op = {str(k): int(v) for k, v in fc.get_flop_counts()["Global"].items()}
    total = int(fc.get_total_flops())
    assert total == sum(by_op.values())
    return total, by_op, out


def cache_of(out):
    for attr in ("past_key_values", "cache"):
        c = getattr(out, attr, None)
        if c is not None:
            return c
    raise RuntimeError("the forward returned no cache")


def cache_facts(cache):
    layers, total = [], 0
    for i, layer in enumerate(cache.layers):
        k, v = layer.keys, layer.values
        total += k.numel() + v.numel()
        layers.append({"layer": i, "class": type(layer).__name__,
                       "key": shape(k), "value": shape(v)})
    return {"elements": int(total), "layers": layers}


def cache_kwarg(model) -> str:
    # transformers 5.2x renamed past_key_values to cache (the old name still
    # works, with a deprecation warning).
    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def token_ids(shape_, seed):
    g = torch.Generator().manual_seed(seed)
    # From 3 on: ids 0..2 are pad/bos/eos in these configs.
    return torch.randint(3, VOCAB, shape_, generator=g)


def safetensors_listing(path: Path):
    rows, params = [], 0
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
        for name in sorted(f.keys()):
            sl = f.get_slice(name)
            dims = [int(d) for d in sl.get_shape()]
            rows.append([name, sl.get_dtype(), dims])
            params += int(np.prod(dims)) if dims else 1
    with open(path, "rb") as fh:
        header_len = int.from_bytes(fh.read(8), "little")
    return {"tensors": rows, "params": params, "metadata": meta,
            "header_len": header_len, "file_bytes": path.stat().st_size}


def write_weights(model, folder: Path, dtype, shard_size=None):
    """save_pretrained into a scratch folder, keep only the safetensors file(s)
    and the index.  save_pretrained (not safetensors.torch.save_file) because
    transformers 5 holds MoE experts fused into 3-D tensors in memory but
    writes them back per expert under the hub's names, and drops tied
    aliases: the files then look like the checkpoints users hold."""
    model = model.to(dtype)
    # What from_pretrained(dtype=float16) would hold: the modules a class
    # keeps in float32 (DeepSeek-V3's router weight and score-correction
    # bias) stay float32, so the file mixes dtypes as real checkpoints do.
    keep = list(getattr(model, "_keep_in_fp32_modules_strict", None) or [])
    if dtype != torch.float32 and keep:
        for name, t_ in list(model.named_parameters()) + list(model.named_buffers()):
            if any(k in name for k in keep):
                t_.data = t_.data.float()
    with tempfile.TemporaryDirectory() as tmp:
        kw = {} if shard_size is None else {"max_shard_size": shard_size}
        model.save_pretrained(tmp, **kw)
        written = sorted(os.listdir(tmp))
        kept = [n for n in written if n.endswith(".safetensors") or n.endswith(".index.json")]
        for n in kept:
            shutil.copyfile(Path(tmp) / n, folder / n)
    return written, kept


# --------------------------------------------------------------------------
# Tiny models
# --------------------------------------------------------------------------

def run_family(name, cls_name, make_config, kind, opts):
    folder = OUT / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    torch.manual_seed(0)
    model = build(cls_name, make_config())
    params, buffers, tied = tensor_tables(model)
    ref = {
        "class": cls_name,
        "model_type": model.config.model_type,
        "transformers": transformers.__version__,
        "torch": torch.__version__.split("+")[0],
        "attn_implementation": model.config._attn_implementation,
        "num_parameters": int(model.num_parameters()),
        "num_parameters_exclude_embeddings": int(model.num_parameters(exclude_embeddings=True)),
        "parameters": params,
        "buffers": buffers,
        "tied": tied,
    }
    experts_impl = getattr(model.config, "_experts_implementation", None)
    tally = ExpertTally(model)
    if tally.handles:
        ref["experts_implementation"] = experts_impl

    if kind in ("causal", "encoder"):
        ids = token_ids((BATCH, SEQ), 1)
        call = (lambda: model(input_ids=ids, use_cache=False)) if kind == "causal" \
            else (lambda: model(input_ids=ids))
        flops, by_op, _ = count_flops(call)
        ref["prefill"] = {"batch": BATCH, "seq": SEQ, "flops": flops, "by_op": by_op,
                          "input_ids": ids.tolist()}
        if kind == "causal":
            # The LM head runs on every position (logits_to_keep=0).
            ref["prefill"]["logits_positions"] = SEQ
    elif kind == "seq2seq":
        ids = token_ids((BATCH, SEQ), 1)
        dec = token_ids((BATCH, SEQ), 2)
        flops, by_op, _ = count_flops(
            lambda: model(input_ids=ids, decoder_input_ids=dec, use_cache=False))
        ref["prefill"] = {"batch": BATCH, "seq": SEQ, "encoder_seq": SEQ, "decoder_seq": SEQ,
                          "flops": flops, "by_op": by_op,
                          "what": "one forward: encoder on input_ids [batch, seq], decoder on "
                                  "decoder_input_ids [batch, seq] (cross-attention to all seq "
                                  "encoder states), LM head on every decoder position",
                          "input_ids": ids.tolist(), "decoder_input_ids": dec.tolist()}
        # The encoder alone, so a reader can split the two stacks.
        eflops, eby_op, _ = count_flops(lambda: model.get_encoder()(input_ids=ids))
        ref["prefill"]["encoder_only"] = {"flops": eflops, "by_op": eby_op}
    elif kind == "vision":
        c = model.config
        g = torch.Generator().manual_seed(1)
        px = torch.randn(BATCH, c.num_channels, c.image_size, c.image_size, generator=g)
        flops, by_op, out = count_flops(lambda: model(pixel_values=px))
        ref["prefill"] = {"batch": BATCH, "input_shape": shape(px),
                          "tokens": int(out.last_hidden_state.shape[1]),
                          "flops": flops, "by_op": by_op}
    if tally.handles:
        ref["tokens_per_expert"] = {"prefill": tally.take()}

    if kind == "causal":
        ids = token_ids((BATCH, CTX + 1), 3)
        with torch.no_grad():
            out = model(input_ids=ids[:, :CTX], use_cache=True)
        cache = cache_of(out)
        ref["kv_cache"] = {"batch": BATCH, "ctx": CTX, **cache_facts(cache)}
        tally.take()
        kw = {cache_kwarg(model): cache}
        flops, by_op, out2 = count_flops(
            lambda: model(input_ids=ids[:, CTX:], use_cache=True, **kw))
        ref["decode"] = {"batch": BATCH, "ctx": CTX, "new_tokens": 1, "flops": flops,
                         "by_op": by_op, "input_ids": ids.tolist()}
        ref["kv_cache"]["after_decode"] = cache_facts(cache_of(out2))
        if tally.handles:
            ref["tokens_per_expert"]["decode"] = tally.take()
    tally.close()

    if "weights" in opts:
        dtype = opts["weights"]
        written, kept = write_weights(model, folder, dtype)
        listing = safetensors_listing(folder / "model.safetensors")
        listing.update({"writer": "PreTrainedModel.save_pretrained",
                        "dtype": str(dtype).replace("torch.", ""),
                        "save_pretrained_wrote": written, "kept": kept})
        ref["safetensors"] = listing
    # After save_pretrained: it is what sets `dtype` for a cast model.
    (folder / "config.json").write_text(model.config.to_json_string(use_diff=False))
    dump(folder / "reference.json", ref)
    return ref, model


def run_sharded(llama_model):
    """The tiny llama's weights as two shards + index (what large hub
    checkpoints look like)."""
    folder = OUT / "llama_sharded"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    total_bytes = sum(p.numel() * p.element_size() for p in llama_model.parameters())
    # Just over half the model: two shards.
    written, kept = write_weights(llama_model, folder, torch.float32,
                                  shard_size=int(total_bytes * 0.55))
    shards = sorted(n for n in kept if n.endswith(".safetensors"))
    assert shards == ["model-00001-of-00002.safetensors",
                      "model-00002-of-00002.safetensors"], shards
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    (folder / "config.json").write_text(llama_model.config.to_json_string(use_diff=False))
    ref = {
        "same_weights_as": "llama",
        "num_parameters": int(llama_model.num_parameters()),
        "writer": "PreTrainedModel.save_pretrained(max_shard_size=%d)" % int(total_bytes * 0.55),
        "save_pretrained_wrote": written,
        "kept": kept,
        "index_total_size": index["metadata"]["total_size"],
        "shards": {s: safetensors_listing(folder / s) for s in shards},
    }
    dump(folder / "reference.json", ref)
    return ref


# --------------------------------------------------------------------------
# GGUF
# --------------------------------------------------------------------------

GGML = gguf.GGMLQuantizationType


def gguf_tensor_type(name: str):
    """The mix asked for: norms F32, token embedding F16, attention Q8_0,
    FFN Q4_0 (experts too); router and output head F32/Q8_0 as llama.cpp
    keeps the router in F32."""
    if name.endswith("_norm.weight") or "ffn_gate_inp" in name:
        return GGML.F32
    if name.startswith("token_embd"):
        return GGML.F16
    if ".attn_" in name or name == "output.weight":
        return GGML.Q8_0
    if ".ffn_" in name:
        return GGML.Q4_0
    raise ValueError(name)


def write_gguf(path: Path, model_name: str, n_experts: int = 0, n_used: int = 0):
    rng = np.random.default_rng(0)
    n_layers, ff = 2, INTER
    w = gguf.GGUFWriter(str(path), "llama")  # sets general.architecture
    w.add_name(model_name)
    w.add_context_length(MAX_POS)
    w.add_embedding_length(HIDDEN)
    w.add_block_count(n_layers)
    w.add_feed_forward_length(ff)
    w.add_rope_dimension_count(HIDDEN // HEADS)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    w.add_vocab_size(VOCAB)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_0)
    if n_experts:
        w.add_expert_count(n_experts)
        w.add_expert_used_count(n_used)
    w.add_tokenizer_model("llama")
    w.add_token_list([f"<t{i}>" for i in range(VOCAB)])
    w.add_token_scores([float(-i) for i in range(VOCAB)])
    w.add_token_types([1] * VOCAB)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)

    # numpy shapes are PyTorch's (outermost first); GGUF stores them reversed.
    shapes = [("token_embd.weight", (VOCAB, HIDDEN))]
    for i in range(n_layers):
        b = f"blk.{i}."
        shapes += [
            (b + "attn_norm.weight", (HIDDEN,)),
            (b + "attn_q.weight", (HEADS * HEAD_DIM, HIDDEN)),
            (b + "attn_k.weight", (KV_HEADS * HEAD_DIM, HIDDEN)),
            (b + "attn_v.weight", (KV_HEADS * HEAD_DIM, HIDDEN)),
            (b + "attn_output.weight", (HIDDEN, HEADS * HEAD_DIM)),
            (b + "ffn_norm.weight", (HIDDEN,)),
        ]
        if n_experts:
            shapes += [
                (b + "ffn_gate_inp.weight", (n_experts, HIDDEN)),
                (b + "ffn_gate_exps.weight", (n_experts, ff, HIDDEN)),
                (b + "ffn_up_exps.weight", (n_experts, ff, HIDDEN)),
                (b + "ffn_down_exps.weight", (n_experts, HIDDEN, ff)),
            ]
        else:
            shapes += [
                (b + "ffn_gate.weight", (ff, HIDDEN)),
                (b + "ffn_up.weight", (ff, HIDDEN)),
                (b + "ffn_down.weight", (HIDDEN, ff)),
            ]
    shapes += [("output_norm.weight", (HIDDEN,)), ("output.weight", (VOCAB, HIDDEN))]

    expected = []
    for name, shp in shapes:
        data = rng.standard_normal(shp).astype(np.float32) * 0.02
        qt = gguf_tensor_type(name)
        q = gguf.quants.quantize(data, qt)
        if qt in (GGML.F32, GGML.F16):
            w.add_tensor(name, q)
        else:
            w.add_tensor(name, q, raw_shape=q.shape, raw_dtype=qt)
        block, tsize = gguf.GGML_QUANT_SIZES[qt]
        n = int(np.prod(shp))
        assert shp[-1] % block == 0
        expected.append({"name": name, "ne": list(reversed(shp)), "type": qt.name,
                         "type_id": int(qt), "n_elements": n,
                         "n_bytes": n // block * tsize})
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return expected


def gguf_value(field):
    """Small metadata values as they are; arrays as their type and length."""
    main = field.types[0]
    if main == gguf.GGUFValueType.ARRAY:
        return {"type": "ARRAY", "item_type": field.types[-1].name, "len": len(field.data)}
    v = field.contents()
    if isinstance(v, float):
        # float32 in the file: the float32 value, written as Python reads it.
        v = float(np.float32(v))
    return {"type": main.name, "value": v}


def gguf_reference(path: Path, expected):
    r = gguf.GGUFReader(str(path))
    meta = {}
    for key, field in r.fields.items():
        if key.startswith("GGUF."):
            continue
        meta[key] = gguf_value(field)
    tensors = []
    for t_, exp in zip(r.tensors, expected):
        row = {"name": t_.name, "ne": [int(x) for x in t_.shape], "type": t_.tensor_type.name,
               "type_id": int(t_.tensor_type), "n_elements": int(t_.n_elements),
               "n_bytes": int(t_.n_bytes), "offset": int(t_.data_offset - r.data_offset)}
        for k in ("name", "ne", "type", "type_id", "n_elements", "n_bytes"):
            assert row[k] == exp[k], (row, exp)
        tensors.append(row)
    assert len(tensors) == len(expected)
    by_type: dict[str, dict[str, int]] = {}
    for t_ in tensors:
        d = by_type.setdefault(t_["type"], {"params": 0, "bytes": 0, "tensors": 0})
        d["params"] += t_["n_elements"]
        d["bytes"] += t_["n_bytes"]
        d["tensors"] += 1
    return {
        "version": int(r.fields["GGUF.version"].contents()),
        "tensor_count": int(r.fields["GGUF.tensor_count"].contents()),
        "kv_count": int(r.fields["GGUF.kv_count"].contents()),
        "alignment": int(r.alignment),
        "data_offset": int(r.data_offset),
        "file_bytes": path.stat().st_size,
        "metadata": meta,
        "tensors": tensors,
        "total_params": sum(t_["n_elements"] for t_ in tensors),
        "total_bytes": sum(t_["n_bytes"] for t_ in tensors),
        "by_type": by_type,
    }


def run_gguf():
    folder = OUT / "gguf"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    ref = {"gguf_package": _version("gguf"), "files": {}}
    exp = write_gguf(folder / "tiny_llama.gguf", "tiny-llama")
    ref["files"]["tiny_llama.gguf"] = gguf_reference(folder / "tiny_llama.gguf", exp)
    exp = write_gguf(folder / "tiny_moe.gguf", "tiny-moe", n_experts=4, n_used=2)
    ref["files"]["tiny_moe.gguf"] = gguf_reference(folder / "tiny_moe.gguf", exp)
    ref["GGML_QUANT_SIZES"] = {
        qt.name: [int(qt), int(bs), int(ts)] for qt, (bs, ts) in gguf.GGML_QUANT_SIZES.items()}
    dump(folder / "reference.json", ref)
    return ref


def _version(dist: str) -> str:
    from importlib.metadata import version
    return version(dist)


# --------------------------------------------------------------------------
# Real-size configs (published hyper-parameters; counted on the meta device)
# --------------------------------------------------------------------------

def llama3_rope(theta, factor, orig):
    return {"rope_type": "llama3", "rope_theta": theta, "factor": factor,
            "low_freq_factor": 1.0, "high_freq_factor": 4.0,
            "original_max_position_embeddings": orig}


def real_models():
    """name -> (class, config factory, keep the parameter list, published
    parameter count to check against or None).  `dtype` is the one each
    model's published config.json names (GPT-2's and BERT's name none)."""
    R = {}
    R["llama_3_1_405b"] = ("LlamaForCausalLM", lambda: T.LlamaConfig(
        dtype="bfloat16",
        hidden_size=16384, num_hidden_layers=126, num_attention_heads=128,
        num_key_value_heads=8, intermediate_size=53248, vocab_size=128256,
        max_position_embeddings=131072, rms_norm_eps=1e-5,
        rope_parameters=llama3_rope(500000.0, 8.0, 8192),
        tie_word_embeddings=False, bos_token_id=128000, eos_token_id=128001),
        False, 405853388800)
    R["llama_3_1_8b"] = ("LlamaForCausalLM", lambda: T.LlamaConfig(
        dtype="bfloat16",
        hidden_size=4096, num_hidden_layers=32, num_attention_heads=32,
        num_key_value_heads=8, intermediate_size=14336, vocab_size=128256,
        max_position_embeddings=131072, rms_norm_eps=1e-5,
        rope_parameters=llama3_rope(500000.0, 8.0, 8192),
        tie_word_embeddings=False, bos_token_id=128000, eos_token_id=128001),
        False, 8030261248)
    R["llama_3_2_1b"] = ("LlamaForCausalLM", lambda: T.LlamaConfig(
        dtype="bfloat16",
        hidden_size=2048, num_hidden_layers=16, num_attention_heads=32,
        num_key_value_heads=8, head_dim=64, intermediate_size=8192,
        vocab_size=128256, max_position_embeddings=131072, rms_norm_eps=1e-5,
        rope_parameters=llama3_rope(500000.0, 32.0, 8192),
        tie_word_embeddings=True, bos_token_id=128000, eos_token_id=128001),
        True, 1235814400)
    R["mistral_7b_v0_1"] = ("MistralForCausalLM", lambda: T.MistralConfig(
        dtype="bfloat16",
        hidden_size=4096, num_hidden_layers=32, num_attention_heads=32,
        num_key_value_heads=8, intermediate_size=14336, vocab_size=32000,
        max_position_embeddings=32768, sliding_window=4096, rms_norm_eps=1e-5,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        tie_word_embeddings=False), False, 7241732096)
    R["mixtral_8x7b"] = ("MixtralForCausalLM", lambda: T.MixtralConfig(
        dtype="bfloat16",
        hidden_size=4096, num_hidden_layers=32, num_attention_heads=32,
        num_key_value_heads=8, intermediate_size=14336, vocab_size=32000,
        max_position_embeddings=32768, sliding_window=None, rms_norm_eps=1e-5,
        num_local_experts=8, num_experts_per_tok=2,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
        tie_word_embeddings=False), False, 46702792704)
    R["qwen3_30b_a3b"] = ("Qwen3MoeForCausalLM", lambda: T.Qwen3MoeConfig(
        dtype="bfloat16",
        hidden_size=2048, num_hidden_layers=48, num_attention_heads=32,
        num_key_value_heads=4, head_dim=128, intermediate_size=6144,
        moe_intermediate_size=768, num_experts=128, num_experts_per_tok=8,
        norm_topk_prob=True, decoder_sparse_step=1, mlp_only_layers=[],
        vocab_size=151936, max_position_embeddings=40960, rms_norm_eps=1e-6,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
        tie_word_embeddings=False, bos_token_id=151643, eos_token_id=151645),
        False, 30532122624)
    R["deepseek_v3"] = ("DeepseekV3ForCausalLM", lambda: T.DeepseekV3Config(
        dtype="bfloat16",
        vocab_size=129280, hidden_size=7168, intermediate_size=18432,
        moe_intermediate_size=2048, num_hidden_layers=61,
        num_attention_heads=128, num_key_value_heads=128, n_shared_experts=1,
        n_routed_experts=256, num_experts_per_tok=8, routed_scaling_factor=2.5,
        kv_lora_rank=512, q_lora_rank=1536, qk_nope_head_dim=128,
        qk_rope_head_dim=64, v_head_dim=128, n_group=8, topk_group=4,
        first_k_dense_replace=3, norm_topk_prob=True,
        max_position_embeddings=163840, rms_norm_eps=1e-6,
        rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0,
                         "factor": 40.0, "original_max_position_embeddings": 4096,
                         "beta_fast": 32.0, "beta_slow": 1.0, "mscale": 1.0,
                         "mscale_all_dim": 1.0},
        num_nextn_predict_layers=1, tie_word_embeddings=False,
        bos_token_id=0, eos_token_id=1), False, None)
    R["gemma_2_9b"] = ("Gemma2ForCausalLM", lambda: T.Gemma2Config(
        dtype="float32",
        hidden_size=3584, num_hidden_layers=42, num_attention_heads=16,
        num_key_value_heads=8, head_dim=256, intermediate_size=14336,
        vocab_size=256000, max_position_embeddings=8192, sliding_window=4096,
        query_pre_attn_scalar=256, attn_logit_softcapping=50.0,
        final_logit_softcapping=30.0, rms_norm_eps=1e-6,
        hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
        False, 9241705984)
    R["gpt2"] = ("GPT2LMHeadModel", lambda: T.GPT2Config(
        n_embd=768, n_layer=12, n_head=12, n_positions=1024, vocab_size=50257),
        True, 124439808)
    R["bert_base_uncased"] = ("BertModel", lambda: T.BertConfig(
        hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
        intermediate_size=3072, vocab_size=30522, max_position_embeddings=512,
        type_vocab_size=2), True, 109482240)
    return R


def run_real():
    folder = OUT / "real"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    mismatches = []
    summary = {}
    for name, (cls_name, make_config, small, published) in real_models().items():
        cfg = make_config()
        with torch.device("meta"):
            model = build(cls_name, cfg, device="meta")
        ref = {
            "class": cls_name,
            "model_type": model.config.model_type,
            "transformers": transformers.__version__,
            "torch": torch.__version__.split("+")[0],
            "num_parameters": int(model.num_parameters()),
            "num_parameters_exclude_embeddings": int(model.num_parameters(exclude_embeddings=True)),
        }
        if published is not None:
            ref["published_num_parameters"] = published
            if ref["num_parameters"] != published:
                mismatches.append((name, ref["num_parameters"], published))
        # Persistent buffers are in the checkpoints but not in
        # num_parameters: DeepSeek-V3's e_score_correction_bias (a parameter
        # in DeepSeek's own code, a buffer in transformers) is one.
        _, buffers, _ = tensor_tables(model)
        ref["persistent_buffer_elements"] = sum(int(np.prod(b[1])) for b in buffers)
        if small:
            params, buffers, tied = tensor_tables(model)
            ref.update(parameters=params, buffers=buffers, tied=tied)
        if cls_name.startswith("DeepseekV3"):
            # The config says 1 multi-token-prediction layer; transformers
            # builds only the 61 main layers (no layer 61, no MTP modules).
            names = [n for n, _ in model.named_parameters()]
            ref["mtp_layers_in_config"] = model.config.num_mtp_layers
            ref["mtp_instantiated"] = any(
                ".layers.61." in n or "mtp" in n or "nextn" in n for n in names)
            ref["num_layers_instantiated"] = len(model.model.layers)
        (folder / f"{name}.config.json").write_text(model.config.to_json_string(use_diff=False))
        dump(folder / f"{name}.reference.json", ref)
        summary[name] = ref["num_parameters"]
        del model
    for name, got, want in mismatches:
        print(f"MISMATCH {name}: transformers counts {got:,}, published {want:,}")
    return summary, mismatches


# --------------------------------------------------------------------------

def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    llama = None
    for name, (cls_name, make_config, kind, opts) in families().items():
        ref, model = run_family(name, cls_name, make_config, kind, opts)
        if name == "llama":
            # Rebuilt (same seed) rather than reused: run_family cast nothing
            # for llama, but the sharded set must not depend on that.
            torch.manual_seed(0)
            llama = build(cls_name, make_config())
        rows.append((name, cls_name, ref["num_parameters"], ref["prefill"]["flops"],
                     ref.get("decode", {}).get("flops")))
    run_sharded(llama)
    run_gguf()
    summary, mismatches = run_real()
    print(f"{'folder':14} {'class':28} {'params':>9} {'prefill':>10} {'decode':>9}")
    for r in rows:
        print(f"{r[0]:14} {r[1]:28} {r[2]:>9} {r[3]:>10} {'' if r[4] is None else r[4]:>9}")
    for name, n in summary.items():
        print(f"real/{name}: {n:,}")
    if mismatches:
        sys.exit(1)


if __name__ == "__main__":
    main()
