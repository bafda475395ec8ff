import torch
import torch.nn as nn
import torch.backends.cudnn as cudnn
from clustercontrast import trainers

def main(args):
    cudnn.benchmark = True
    model = nn.DataParallel(trainers.build(args)).cuda()
