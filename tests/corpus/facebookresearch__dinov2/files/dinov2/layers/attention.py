import torch
from torch import nn

try:
    from xformers.ops import memory_efficient_attention, unbind
    XFORMERS_AVAILABLE = True
except ImportError:
    XFORMERS_AVAILABLE = False
