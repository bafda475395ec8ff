import torch
import torch.utils.cpp_extension

def get_plugin(module_name, sources, headers=None, **build_kwargs):
    return torch.utils.cpp_extension.load(name=module_name, sources=sources, **build_kwargs)
