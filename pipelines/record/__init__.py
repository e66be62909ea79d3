"""The record of accepted numbers (DuckDB), the aggregation unit -> district -> city, the period CSVs."""
