from setuptools import setup
from setuptools import find_packages

setup(name='pygcn',
      version='0.1',
      description='Graph Convolutional Networks in PyTorch',
      license='MIT',
      install_requires=['numpy',
                        'torch',
                        'scipy'
                        ],
      package_data={'pygcn': ['README.md']},
      packages=find_packages())
