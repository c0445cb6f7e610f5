"""The evidence bundle: its layout (layout.py, the one definition the writer in
evidence/export.py and every reader share), readers (read.py), the offline
verifier (verify.py) and its PDF and C2PA checkers (checkers.py)."""
