import math

import torch as th
import torch.nn as nn


# PyTorch 1.7 ships SiLU, but we keep supporting PyTorch 1.5.
class SiLU(nn.Module):
    def forward(self, x):
        return x * th.sigmoid(x)


class GroupNorm32(nn.GroupNorm):
    def forward(self, x):
        return super().forward(x.float()).type(x.dtype)
