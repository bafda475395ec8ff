from setuptools import find_packages
from setuptools import setup

setup(
    name='alphafold',
    version='2.0.0',
    packages=find_packages(),
    install_requires=[
        'absl-py', 'biopython', 'chex', 'dm-haiku', 'dm-tree', 'docker',
        'immutabledict', 'jax', 'ml-collections', 'numpy', 'scipy', 'tensorflow',
    ],
    classifiers=[
        'Programming Language :: Python :: 3.6',
        'Programming Language :: Python :: 3.7',
    ],
)
