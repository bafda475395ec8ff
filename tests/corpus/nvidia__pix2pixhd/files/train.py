import torch
from torch.autograd import Variable


def report(loss_dict):
    errors = {k: v.data[0] if not isinstance(v, int) else v for k, v in loss_dict.items()}
    return errors
