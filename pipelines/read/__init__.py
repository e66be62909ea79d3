"""Reading one workbook safely: the guard, legacy .xls, the tables and the cell values."""
