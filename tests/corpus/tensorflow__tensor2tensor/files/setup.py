from setuptools import find_packages
from setuptools import setup

setup(
    name='tensor2tensor',
    version='1.3.0',
    packages=find_packages(),
    scripts=[
        'tensor2tensor/bin/t2t-trainer',
        'tensor2tensor/bin/t2t-datagen',
        'tensor2tensor/bin/t2t-decoder',
    ],
    install_requires=[
        'bz2file',
        'future',
        'numpy',
        'requests',
        'sympy',
        'six',
    ],
    extras_require={
        'tensorflow': ['tensorflow>=1.3.0'],
        'tensorflow_gpu': ['tensorflow-gpu>=1.3.0'],
        'tests': ['pytest', 'h5py', 'mock'],
    },
    keywords='tensorflow machine learning',)
