import sys
assert sys.version_info >= (3, 6)
classifiers=['Programming Language :: Python :: 3.7']
