import os
from setuptools import find_packages
from setuptools import setup

install_requires = [
    'absl-py',
    'clu',
    'einops',
    'flax',
    'jax',
    'ml-collections',
    'numpy',
    'packaging',
    'pandas',
    'scipy',
    'tensorflow_datasets',
    'tensorflow_probability',
    'tensorflow',
]

setup(
    name='vit_jax',
    version='0.0.1',
    classifiers=[
        'Programming Language :: Python :: 3.7',
    ],
    packages=find_packages(),
    install_requires=install_requires,
)
