"""StyGig: outfit completion over a shop's own catalog."""

__version__ = "0.1.0"
