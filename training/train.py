"""Train SiamRPN++: ``python training/train.py --config training/configs/<name>.yaml`` (the same as
``siamrpnpp train``).

Several GPUs or machines: ``torchrun --nproc_per_node=N training/train.py --config ...`` (same config,
same results). Interrupted runs resume from the newest checkpoint in ``out_dir`` (``--resume none`` to
start over in an empty folder).
"""
import sys

from siamrpnpp_core.training.cli import train_main

if __name__ == "__main__":
    sys.exit(train_main(prog="train.py"))
