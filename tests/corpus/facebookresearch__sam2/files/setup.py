import os
from setuptools import find_packages, setup

NAME = "SAM-2"
VERSION = "1.0"

REQUIRED_PACKAGES = [
    "torch>=2.3.1",
    "torchvision>=0.18.1",
    "numpy>=1.24.4",
    "tqdm>=4.66.1",
    "hydra-core>=1.3.2",
    "iopath>=0.1.10",
    "pillow>=9.4.0",
]

EXTRA_PACKAGES = {
    "notebooks": ["matplotlib>=3.9.1", "jupyter>=1.0.0", "opencv-python>=4.7.0", "eva-decord>=0.6.1"],
    "interactive-demo": ["Flask>=3.0.3", "Flask-Cors>=5.0.0", "av>=13.0.0", "gunicorn>=23.0.0"],
    "dev": ["black==24.2.0", "usort==1.0.2", "ufmt==2.0.0b2"],
}

BUILD_CUDA = os.getenv("SAM2_BUILD_CUDA", "1") == "1"

setup(
    name=NAME,
    version=VERSION,
    packages=find_packages(exclude="notebooks"),
    install_requires=REQUIRED_PACKAGES,
    extras_require=EXTRA_PACKAGES,
    python_requires=">=3.10.0",
)
