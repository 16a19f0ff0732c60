"""The package version. (PYTEST_DONT_REWRITE)"""

__version__ = "0.1.0"
