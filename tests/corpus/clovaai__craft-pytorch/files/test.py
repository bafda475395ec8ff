import torch
import torch.backends.cudnn as cudnn
from torch.autograd import Variable
from craft import CRAFT

def test_net(net, image, cuda):
    x = torch.from_numpy(image).permute(2, 0, 1)
    x = Variable(x.unsqueeze(0))
    if cuda:
        x = x.cuda()
    with torch.no_grad():
        y, feature = net(x)
    return y
