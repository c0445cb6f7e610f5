"""A C2SP tlog-witness: cosigns a log's checkpoints that extend what it cosigned before."""
