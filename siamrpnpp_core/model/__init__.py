"""SiamRPN++ network modules, named as in the authors' release so its weights load strictly."""
from .siamrpn import SiamRPN

__all__ = ["SiamRPN"]
