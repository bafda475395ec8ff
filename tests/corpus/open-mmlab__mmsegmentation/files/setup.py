from setuptools import find_packages, setup


def parse_requirements(fname='requirements.txt'):
    return [line.strip() for line in open(fname) if line.strip() and not line.startswith('-r')]


setup(
    name='mmsegmentation',
    packages=find_packages(exclude=('configs', 'tools', 'demo')),
    install_requires=parse_requirements('requirements/runtime.txt'),
    extras_require={'all': parse_requirements('requirements.txt'),
                    'mim': parse_requirements('requirements/mminstall.txt')},
)
