"""opsloop: the Monitor -> Respond -> Review -> Improve loop as one program."""

__version__ = "0.1.0"
