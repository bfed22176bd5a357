"""codemill: turn raw code, text and math into training data for code LLMs, and check it by running it."""


def __getattr__(name: str) -> str:
    """``__version__``, read from the installed metadata when first asked for: importing ``importlib.metadata``
    costs about as much as Typer itself, and most commands never print the version."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("codemill")
    except PackageNotFoundError:  # running from a source tree that was never installed
        value = "0.0.0+source"
    globals()["__version__"] = value
    return value
