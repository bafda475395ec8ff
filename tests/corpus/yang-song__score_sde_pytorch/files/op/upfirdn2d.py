import os
import torch
from torch.utils.cpp_extension import load

module_path = os.path.dirname(__file__)
upfirdn2d_op = load("upfirdn2d", sources=[os.path.join(module_path, "upfirdn2d.cpp"),
                                          os.path.join(module_path, "upfirdn2d_kernel.cu")])
