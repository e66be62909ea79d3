"""Each district's findings on its own file: marked copies, summaries, listings."""
