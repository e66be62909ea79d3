"""The blank form districts fill, and the sample generator with its quirks."""
