"""The version of CloudAtlas (one place, so nothing imports the package root for it)."""
__version__ = "0.2.0"
