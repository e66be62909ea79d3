"""Checking: every rule of one workbook, the findings, history against the record, submissions and completeness."""
