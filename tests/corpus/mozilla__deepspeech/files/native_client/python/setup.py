from setuptools import setup, Extension

setup(name='deepspeech', version='0.7.0', ext_modules=[Extension('deepspeech._impl', ['impl.i'])])
