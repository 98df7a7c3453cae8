"""``python -m siamrpnpp_ros --ros-args ...``: the tracker node (the same entry point as tracker_node)."""
from .node import main

raise SystemExit(main())
