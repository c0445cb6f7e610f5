"""Use cases. Each service gets its collaborators (db, store, settings) in its constructor."""
