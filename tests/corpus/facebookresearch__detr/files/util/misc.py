import torch
import torchvision

if float(torchvision.__version__[:3]) < 0.7:
    from torchvision.ops import _new_empty_tensor
    from torchvision.ops.misc import _output_size

def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    if float(torchvision.__version__[:3]) < 0.7:
        output_shape = _output_size(2, input, size, scale_factor)
        return _new_empty_tensor(input, output_shape)
    return torchvision.ops.misc.interpolate(input, size, scale_factor, mode, align_corners)
