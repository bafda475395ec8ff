import torch
import torch.nn as nn
import torch.nn.functional as F


class Upsample(nn.Module):
    def forward(self, x):
        return F.interpolate(x, scale_factor=2, mode="nearest")
