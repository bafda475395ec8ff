import torch
from torch.autograd import Variable
import torch.nn as nn


def evaluate(nli_net, s1_batch, s2_batch, tgt_batch, loss_fn):
    s1 = Variable(s1_batch.cuda(), volatile=True)
    s2 = Variable(s2_batch.cuda(), volatile=True)
    output = nli_net((s1, None), (s2, None))
    loss = loss_fn(output, Variable(tgt_batch.cuda()))
    return loss.data[0]
