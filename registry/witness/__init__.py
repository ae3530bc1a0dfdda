"""A C2SP tlog-witness: checks that a log only grows, and cosigns its checkpoints."""
