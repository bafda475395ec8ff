import torch
import torch.nn as nn
import torch.nn.functional as F
from models.networks.sync_batchnorm import SynchronizedBatchNorm2d


class SPADE(nn.Module):
    def forward(self, x, segmap):
        segmap = F.interpolate(segmap, size=x.size()[2:], mode='nearest')
        return x
