from pathlib import Path
from setuptools import find_packages, setup


def main():
    version = (Path(__file__).parent / 'VERSION').read_text().strip()
    setup(
        name='deepspeech_training',
        version=version,
        package_dir={'': 'training'},
        packages=find_packages(where='training'),
        python_requires='>=3.5, <4',
        install_requires=[
            'tensorflow == 1.15.2',
            'numpy == 1.18.1',
            'progressbar2',
            'six',
            'pyxdg',
            'attrdict',
            'absl-py',
            'semver',
            'opuslib == 2.0.0',
            'optuna',
            'sox',
            'bs4',
            'pandas',
            'requests',
            'librosa',
            'soundfile',
        ],
    )

if __name__ == '__main__':
    main()
