"""One module per provider; each does one call and nothing else."""

# The model the `local` provider ships with (the `local` extra's GGUF); here so that naming it imports
# nothing of the provider itself.
EMBEDDED_MODEL = "smollm2-135m-instruct"
