"""One module per provider; each does one call and nothing else."""
