import os
import torch
from torch.utils.ffi import create_extension

ffi = create_extension('_ext.roi_align', headers=['src/roi_align_cuda.h'],
                       sources=['src/roi_align_cuda.c'], with_cuda=torch.cuda.is_available())
ffi.build()
