"""Readers for conference schedule exports: each turns one file into a `CatalogueDocument` (`document`).

Every reader has the same shape, `parse(data, filename, options, *, progress=None)`, ignores fields it
does not know, and fails with a `CatalogueFormatError` naming the file, the record and the field.
"""

FORMATS = ("native", "schedule-json", "schedule-xml", "sessionize", "sched", "csv")
