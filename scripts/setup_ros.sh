#!/usr/bin/env bash
# Set up ROS 2 without a ROS distribution: install rclpy and the message packages from PyPI into
# the project's virtual environment, then build our interfaces (msg/) and the vision_msgs 4.x
# definitions (msg/vision_msgs/, not on PyPI) against them and install both into the venv.
#
# Usage: scripts/setup_ros.sh [VENV]     (VENV defaults to .venv at the repository root)
# Idempotent: wheels are reinstalled only when scripts/ros-requirements.txt changes, and each
# interface package is rebuilt only when its sources change. Needs cmake and a C/C++ compiler;
# when they are missing and we run as root on Debian/Ubuntu, they are installed with apt-get.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV_ARG=${1:-$ROOT/.venv}
[ -x "$VENV_ARG/bin/python" ] || { echo "setup_ros: no virtual environment at $VENV_ARG (run 'make venv' first)" >&2; exit 1; }
VENV=$(cd "$VENV_ARG" && pwd)
PY=$VENV/bin/python
BUILD=$VENV/.ros-build
JOBS=${JOBS:-$(nproc)}
mkdir -p "$BUILD"

log() { echo "setup_ros: $*"; }
die() { echo "setup_ros: error: $*" >&2; exit 1; }
digest() { cat "$@" | sha256sum | cut -d' ' -f1; }

# 0. Build tools.
if ! command -v cmake >/dev/null || ! command -v c++ >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "installing cmake and g++ with apt-get"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends cmake g++ make >/dev/null
    else
        die "cmake and a C++ compiler are needed (e.g. sudo apt-get install cmake g++)"
    fi
fi

# 1. ROS 2 wheels from PyPI.
REQ=$ROOT/scripts/ros-requirements.txt
want=$(digest "$REQ")
if [ "$(cat "$BUILD/wheels.stamp" 2>/dev/null)" != "$want" ] || ! "$PY" -c 'import rclpy' 2>/dev/null; then
    log "installing ROS 2 wheels into $VENV"
    "$PY" -m pip install -q --disable-pip-version-check -r "$REQ"
    echo "$want" > "$BUILD/wheels.stamp"
else
    log "ROS 2 wheels up to date"
fi

# 2. The wheels' CMake exports name the include folders of the machine that built them
#    (/opt/python/cp311-cp311/...). Point them at this venv's Python and NumPy headers instead.
PYINC=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
NPINC=$("$PY" -c 'import numpy; print(numpy.get_include())')
[ -f "$PYINC/Python.h" ] || die "Python headers not found in $PYINC (install the Python development package)"
OPT=/opt/python/cp311-cp311
grep -rlZ --include='*.cmake' "$OPT/" "$VENV/share" 2>/dev/null \
    | xargs -0 -r sed -i -e "s#$OPT/include/python3.11#$PYINC#g" \
        -e "s#$OPT/lib/python3.11/site-packages/numpy/_core/include#$NPINC#g" || true

# 3. Interface packages: build_interfaces NAME SOURCE_DIR PYTHON_MODULE [CMAKE_ARGS...]
build_interfaces() {
    local name=$1 src=$2 module=$3
    shift 3
    local files
    files=$(cd "$src" && find CMakeLists.txt package.xml msg -maxdepth 2 -type f \
        \( -name '*.msg' -o -name '*.srv' -o -name '*.txt' -o -name '*.xml' \) | LC_ALL=C sort)
    local want
    want=$( (cd "$src" && digest $files; digest "$REQ") | digest /dev/stdin)
    if [ "$(cat "$BUILD/$name.stamp" 2>/dev/null)" = "$want" ] && "$PY" -c "import $module" 2>/dev/null; then
        log "$name interfaces up to date"
        return
    fi
    log "building $name interfaces"
    rm -rf "${BUILD:?}/$name"
    AMENT_PREFIX_PATH=$VENV cmake -S "$src" -B "$BUILD/$name" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_PREFIX_PATH="$VENV" -DCMAKE_INSTALL_PREFIX="$VENV" -DPython3_EXECUTABLE="$PY" \
        -DBUILD_TESTING=OFF "$@" >"$BUILD/$name.log" 2>&1 \
        && AMENT_PREFIX_PATH=$VENV cmake --build "$BUILD/$name" -j"$JOBS" --target install \
        >>"$BUILD/$name.log" 2>&1 \
        || { tail -n 40 "$BUILD/$name.log" >&2; die "building $name failed (full log: $BUILD/$name.log)"; }
    "$PY" -c "import $module" || die "$module does not import after the build"
    echo "$want" > "$BUILD/$name.stamp"
}

build_interfaces vision_msgs "$ROOT/msg/vision_msgs" vision_msgs.msg
build_interfaces siamrpnpp "$ROOT" "siamrpnpp.msg, siamrpnpp.srv" -DSIAMRPNPP_INTERFACES_ONLY=ON
# The generated module installs distribution metadata named after the ROS package ("siamrpnpp"),
# which would shadow the pip-installed project of the same name: keep only the module.
rm -rf "$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"/siamrpnpp-*.egg-info
log "done: rclpy, siamrpnpp.msg/.srv and vision_msgs.msg are importable from $PY"
