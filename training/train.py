"""Train SiamRPN++: ``python training/train.py --config training/configs/<name>.yaml``.

Several GPUs or machines: ``torchrun --nproc_per_node=N training/train.py --config ...`` (same config,
same results). Interrupted runs resume from the newest checkpoint in ``out_dir`` (``--resume none`` to
start over in an empty folder).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from siamrpnpp_core.training.config import TRAIN_PRESETS, load_config, parse_override  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="YAML or JSON config (its `base:` names a preset)")
    parser.add_argument("--preset", choices=sorted(TRAIN_PRESETS), help="base preset when the config names none")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set epochs=1 --set search_aug.shift=32")
    parser.add_argument("--out-dir", help="where checkpoints, logs and the final model go")
    parser.add_argument("--resume", default="auto", help="auto (newest checkpoint in out_dir), none, or a path")
    parser.add_argument("--max-steps", type=int, help="stop after this many steps (checkpointed; rerun to go on)")
    parser.add_argument("--export", help="after training, also write the weights (float16) to this .safetensors")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s: %(message)s")
    overrides = {}
    for text in args.set:
        _deep_update(overrides, parse_override(text))
    if args.out_dir:
        overrides["out_dir"] = args.out_dir
    try:
        cfg = load_config(args.config, args.preset, overrides)
        from siamrpnpp_core.training.trainer import Trainer

        trainer = Trainer(cfg, resume=None if args.resume == "none" else args.resume,
                          progress=not args.no_progress)
        row = trainer.run(args.max_steps)
    except (ValueError, OSError) as e:
        print(f"train.py: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    if row:
        print(f"step {trainer.step}/{trainer.total_steps}: loss {row['loss']:.4f} "
              f"(cls {row['cls_loss']:.4f}, loc {row['loc_loss']:.4f}), {row['pairs_per_s']:.1f} pairs/s")
    if args.export and trainer.rank == 0:
        trainer.export(args.export, half=True)
        print(f"wrote {args.export}")
    return 0


def _deep_update(base: dict, new: dict) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_update(base[key], value)
        else:
            base[key] = value


if __name__ == "__main__":
    sys.exit(main())
