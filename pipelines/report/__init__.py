"""The leaders' report: claims and words, tables, charts, the summary workbook, HTML and PDF."""
