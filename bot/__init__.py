"""The archive inspection bot."""

__version__ = "0.1.0"
