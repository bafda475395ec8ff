import torch
import torch.autograd as autograd
import torch.nn.functional as F


def GraSP_fetch_data(dataloader, num_classes, samples_per_class):
    grads = autograd.grad(torch.zeros(1, requires_grad=True).sum(), [])
    return grads
