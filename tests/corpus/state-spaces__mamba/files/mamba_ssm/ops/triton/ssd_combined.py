import math
import torch
import torch.nn.functional as F
from torch.cuda.amp import custom_bwd, custom_fwd

import triton
import triton.language as tl
from einops import rearrange


class MambaChunkScanCombinedFn(torch.autograd.Function):
    @staticmethod
    @custom_fwd
    def forward(ctx, x, dt, A, B, C, chunk_size):
        return x
