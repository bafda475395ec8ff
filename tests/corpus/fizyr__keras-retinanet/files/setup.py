import setuptools
from setuptools.extension import Extension

extensions = [
    Extension('keras_retinanet.utils.compute_overlap', ['keras_retinanet/utils/compute_overlap.pyx']),
]

setuptools.setup(
    name             = 'keras-retinanet',
    version          = '0.5.1',
    packages         = setuptools.find_packages(),
    install_requires = ['keras', 'keras-resnet', 'six', 'scipy', 'cython', 'Pillow', 'opencv-python', 'progressbar2'],
    ext_modules      = extensions,
    setup_requires   = ["cython>=0.28", "numpy>=1.14.0"]
)
