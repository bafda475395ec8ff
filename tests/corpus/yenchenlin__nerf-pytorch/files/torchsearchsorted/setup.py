from setuptools import setup
from torch.utils.cpp_extension import BuildExtension, CUDAExtension

setup(
    name='torchsearchsorted',
    version='1.1',
    package_dir={'': 'src'},
    packages=['torchsearchsorted'],
    ext_modules=[CUDAExtension('torchsearchsorted.cuda', ['src/cuda/searchsorted_cuda_wrapper.cpp',
                                                           'src/cuda/searchsorted_cuda_kernel.cu'])],
    cmdclass={'build_ext': BuildExtension},
)
