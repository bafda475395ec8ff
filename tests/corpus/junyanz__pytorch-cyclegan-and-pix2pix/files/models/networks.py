import torch
import torch.nn as nn
from torch.nn import init
from torch.optim import lr_scheduler

def init_weights(net, init_type='normal', gain=0.02):
    def init_func(m):
        if hasattr(m, 'weight'):
            init.normal_(m.weight.data, 0.0, gain)
    net.apply(init_func)
