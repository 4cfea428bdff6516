"""The one error every loader raises for a file it cannot read."""


class LoadError(Exception):
    """A file that cannot be read; the message says why in words a user understands."""
