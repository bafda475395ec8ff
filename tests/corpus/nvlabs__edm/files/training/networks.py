import numpy as np
import torch
from torch_utils import persistence
from torch.nn.functional import silu


@persistence.persistent_class
class EDMPrecond(torch.nn.Module):
    def forward(self, x, sigma, class_labels=None, force_fp32=False, **model_kwargs):
        dtype = torch.float16 if (self.use_fp16 and not force_fp32 and x.device.type == 'cuda') else torch.float32
        return x.to(dtype)
