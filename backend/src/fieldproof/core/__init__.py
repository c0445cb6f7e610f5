"""Pure domain logic: no Flask, no SQLAlchemy, no minio, no I/O beyond hashing.

tests/test_layering.py holds that line.
"""
