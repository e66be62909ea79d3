"""Small tools every stage uses: atomic writes, locks, timings, processes, the cache key, text and number formats, Excel helpers."""
