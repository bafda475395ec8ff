import torch
import torch.nn.functional as F
from packaging import version

# flash attention through F.scaled_dot_product_attention (torch 2.0+)
def attend(q, k, v):
    return F.scaled_dot_product_attention(q, k, v)
