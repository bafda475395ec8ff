import os
import sys
import setuptools

version_path = os.path.join(os.path.dirname(__file__), 't5x')
sys.path.append(version_path)
from version import __version__

_jax_version = '0.4.6'
_jaxlib_version = '0.4.6'

setuptools.setup(
    name='t5x',
    version=__version__,
    packages=setuptools.find_packages(),
    install_requires=[
        'absl-py',
        'clu @ git+https://github.com/google/CommonLoopUtils#egg=clu',
        'flax @ git+https://github.com/google/flax#egg=flax',
        'fiddle >= 0.2.5',
        'gin-config',
        f'jax >= {_jax_version}',
        f'jaxlib >= {_jaxlib_version}',
        'numpy',
        'orbax-checkpoint',
        'seqio @ git+https://github.com/google/seqio#egg=seqio',
        'tensorflow-cpu',
        'tensorstore >= 0.1.20',
    ],
    extras_require={
        'test': ['pytest', 't5'],
        'tpu': [f'jax[tpu] >= {_jax_version}'],
    },
)
