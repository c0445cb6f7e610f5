"""FieldProof: capture evidence that holds up in court."""

__version__ = "0.1.0"
