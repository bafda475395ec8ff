import math
import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange, repeat

try:
    from causal_conv1d import causal_conv1d_fn
except ImportError:
    causal_conv1d_fn = None

from mamba_ssm.ops.triton.ssd_combined import mamba_chunk_scan_combined


class Mamba2(nn.Module):
    def __init__(self, d_model, d_state=128, headdim=64, device=None, dtype=None):
        super().__init__()
        self.in_proj = nn.Linear(d_model, 2 * d_model, bias=False, device=device, dtype=dtype)
