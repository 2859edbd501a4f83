"""Deliver: what a shop owner receives — HTML pages, the Excel workbooks, PDF. Imports the
layers below it, never run."""
