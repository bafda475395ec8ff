import torch
import torch.distributed as dist
from torch._six import inf


class NativeScalerWithGradNormCount:
    def __init__(self):
        self._scaler = torch.cuda.amp.GradScaler()
