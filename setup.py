"""pip install -e .[test] installs siamrpnpp_core, siamrpnpp_ros and the `siamrpnpp` command."""
from setuptools import find_packages, setup

setup(
    name="siamrpnpp",
    version="0.1.0",
    description="SiamRPN++ visual object tracking: PyTorch core, evaluation, training and a ROS 2 node",
    python_requires=">=3.10",
    packages=find_packages(include=["siamrpnpp_core", "siamrpnpp_core.*", "siamrpnpp_ros", "siamrpnpp_ros.*"]),
    package_data={"siamrpnpp_core": ["data/*.mp4", "data/*.safetensors"]},
    install_requires=[
        "torch==2.13.0",  # CPU build from the local wheel on our machines; pinned so pip never pulls CUDA wheels
        "numpy>=1.24",
        "opencv-contrib-python-headless>=4.8",  # cv2 plus contrib: the CSRT/KCF/MIL trackers of benchmarks/vs_opencv.py
        "safetensors>=0.4",
        "tqdm>=4.60",
        "matplotlib>=3.5",  # evaluation plots
        "pyyaml>=6.0",  # training configs
        "lmdb>=1.4",  # packed training crops
        "onnx>=1.16",  # ONNX export (the default CPU backend runs the exported graph)
        "onnxruntime>=1.18",  # default CPU backend: fastest exact float32 path measured here
        "optuna>=4",  # `eval search`: samplers, resumable shared storage, pruning
    ],
    extras_require={
        "test": ["pytest>=8,<9", "pytest-timeout>=2.3", "got10k==0.1.3", "six", "tensorboard>=2.14",
                 "openvino>=2024.0", "ray>=2.30"],
        "openvino": ["openvino>=2024.0"],  # optional CPU backend (OpenVINO runtime)
        "ray": ["ray>=2.30"],  # `eval run/search --ray`: sequences as tasks on a Ray cluster
        "train": ["tensorboard>=2.14"],  # TensorBoard logs (training writes CSV logs without it)
    },
    entry_points={"console_scripts": ["siamrpnpp = siamrpnpp_core.cli:main"]},
)
