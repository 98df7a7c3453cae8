"""Start the siamrpnpp tracker node (a lifecycle node).

    ros2 launch siamrpnpp tracker.launch.py image_topic:=/camera/image_raw weights:=/path/model.pth \
        device:=cuda:0 namespace:=uav1 params_file:=/path/tracker.yaml autostart:=false

image_topic, weights, device and autostart override the params file only when given (non-empty).
With autostart true (the params file's default) the node configures and activates itself; with false
it waits unconfigured for `ros2 lifecycle set /siamrpnpp_tracker configure` and `activate` (or a
lifecycle manager). The node is a launch_ros LifecycleNode, so an including launch file can drive it
with launch_ros.events.lifecycle.ChangeState and react to its StateTransition events.
"""
import os  # noqa: I001 - ruff takes launch/ for our own package

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode

OVERRIDES = ("image_topic", "weights", "device")
BOOLEANS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}


def _tracker_node(context):
    overrides = {name: LaunchConfiguration(name).perform(context) for name in OVERRIDES}
    overrides = {name: value for name, value in overrides.items() if value}
    autostart = LaunchConfiguration("autostart").perform(context).strip().lower()
    if autostart:
        if autostart not in BOOLEANS:
            raise ValueError(f"autostart must be true or false, got {autostart!r}")
        overrides["autostart"] = BOOLEANS[autostart]
    return [LifecycleNode(
        package="siamrpnpp",
        executable="tracker_node",
        name="siamrpnpp_tracker",
        namespace=LaunchConfiguration("namespace"),
        parameters=[LaunchConfiguration("params_file"), overrides],
        output="screen",
        emulate_tty=True,
    )]


def generate_launch_description():
    default_params = os.path.join(get_package_share_directory("siamrpnpp"), "config", "tracker.yaml")
    return LaunchDescription([
        DeclareLaunchArgument("namespace", default_value="", description="Namespace of the node and its topics"),
        DeclareLaunchArgument("params_file", default_value=default_params,
                              description="Parameter file (see config/tracker.yaml)"),
        DeclareLaunchArgument("image_topic", default_value="", description="Camera topic; empty = params file"),
        DeclareLaunchArgument("weights", default_value="", description="Checkpoint file; empty = params file"),
        DeclareLaunchArgument("device", default_value="", description="auto, cpu, cuda:N; empty = params file"),
        DeclareLaunchArgument("autostart", default_value="",
                              description="true: configure and activate at start-up; false: wait for "
                                          "`ros2 lifecycle set`; empty = params file (true)"),
        OpaqueFunction(function=_tracker_node),
    ])
