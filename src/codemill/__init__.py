"""codemill: turn raw code, text and math into training data for code LLMs, and check it by running it."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("codemill")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
