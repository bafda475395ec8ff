import torch
import torch.distributed as dist
from torch.cuda import amp
from torch.optim import lr_scheduler

def train(hyp, opt, device):
    scaler = amp.GradScaler(enabled=True)
    with amp.autocast(enabled=True):
        pass
