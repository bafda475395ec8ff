import glob
import os

import torch
from setuptools import find_packages, setup
from torch.utils.cpp_extension import CUDA_HOME, CppExtension, CUDAExtension

requirements = ["torch", "torchvision"]


def get_extensions():
    extension = CppExtension
    define_macros = []
    if torch.cuda.is_available() and CUDA_HOME is not None or os.getenv("FORCE_CUDA", "0") == "1":
        extension = CUDAExtension
        define_macros += [("WITH_CUDA", None)]
    sources = glob.glob(os.path.join("maskrcnn_benchmark", "csrc", "*.cpp"))
    return [extension("maskrcnn_benchmark._C", sources, define_macros=define_macros)]


setup(
    name="maskrcnn_benchmark",
    version="0.1",
    packages=find_packages(exclude=("configs", "tests",)),
    ext_modules=get_extensions(),
    cmdclass={"build_ext": torch.utils.cpp_extension.BuildExtension},
)
