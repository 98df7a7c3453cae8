"""siamrpnpp_ros: the ROS 2 tracking node, a thin layer of message conversion over siamrpnpp_core.

Only ``node`` imports rclpy and the message packages; the other modules are plain Python.
"""
