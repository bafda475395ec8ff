import torch
import torch.nn as nn
import torch.nn.parallel


class DCGAN_G(nn.Module):
    def __init__(self, isize, nz, nc, ngf, ngpu):
        super(DCGAN_G, self).__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(nn.ConvTranspose2d(nz, nc, 4, 1, 0, bias=False), nn.Tanh())

    def forward(self, input):
        if isinstance(input.data, torch.cuda.FloatTensor) and self.ngpu > 1:
            return nn.parallel.data_parallel(self.main, input, range(self.ngpu))
        return self.main(input)
