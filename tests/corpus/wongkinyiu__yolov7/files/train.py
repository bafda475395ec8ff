import argparse
import logging
import math

import numpy as np
import torch.distributed as dist
import torch.nn as nn
import torch.optim as optim
import torch.utils.data
from torch.cuda import amp
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.tensorboard import SummaryWriter

from utils.torch_utils import ModelEMA, select_device


def train(hyp, opt, device):
    scaler = amp.GradScaler(enabled=device.type != 'cpu')
    with amp.autocast(enabled=device.type != 'cpu'):
        pass
