import torch
from pkg_resources import packaging

if packaging.version.parse(torch.__version__) < packaging.version.parse("1.7.1"):
    import warnings
    warnings.warn("PyTorch version 1.7.1 or higher is recommended")
