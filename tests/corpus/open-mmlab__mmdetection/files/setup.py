from setuptools import find_packages, setup
from torch.utils.cpp_extension import BuildExtension

def parse_requirements(fname='requirements.txt'):
    return [l.strip() for l in open(fname) if l.strip() and not l.startswith('-r')]

setup(
    name='mmdet',
    version='2.14.0',
    packages=find_packages(exclude=('configs', 'tools', 'demo')),
    setup_requires=parse_requirements('requirements/build.txt'),
    install_requires=parse_requirements('requirements/runtime.txt'),
    extras_require={'all': parse_requirements('requirements.txt')},
    cmdclass={'build_ext': BuildExtension},
)
