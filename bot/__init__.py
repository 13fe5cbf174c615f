"""Talk highlights: a catalogue of conference talks, brought back into community chat."""

__version__ = "0.1.0"
