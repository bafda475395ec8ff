import torch
import torch.nn as nn
from tensorboardX import SummaryWriter
from easydict import EasyDict as edict
