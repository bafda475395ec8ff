from setuptools import find_packages, setup

setup(
    name='alphafold',
    version='2.0.0',
    packages=find_packages(),
    install_requires=[
        'absl-py',
        'biopython',
        'chex',
        'dm-haiku',
        'dm-tree',
        'docker',
        'immutabledict',
        'jax',
        'ml-collections',
        'numpy',
        'scipy',
        'tensorflow-cpu',
    ],
)
