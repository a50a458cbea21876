"""XLSForm in and out: the spreadsheet format of KoboToolbox and ODK, mapped onto questionnaire/v1.

Promises:
- ``xlsform_read(data, filename=...)`` turns an XLSForm (.xlsx, .xls, .csv or pyxform's
  markdown) into a questionnaire/v1 document, or raises ``DefinitionError`` listing every row
  it cannot map, each as ``row N (name): reason``. The sheets are read and the survey structure
  is built by pyxform's own parser (``get_xlsform`` and ``workbook_to_json``); only the mapping
  onto our format is done here. Nothing is dropped silently: what Wenji cannot express (an
  XPath function it lacks, repeats, geopoints, calculations, defaults, choice filters…) is
  refused; what it does not need (metadata fields such as ``start``/``end``, constraint
  messages, media) is listed in ``XLSFormImport.notes``.
- ``xlsform_write(document)`` writes a document as an .xlsx that pyxform converts without
  errors. What XLSForm says natively travels natively (types, labels per language, hints,
  ``required``, ``relevant``, ``constraint``, groups, ``table-list`` matrices, ``or_other``);
  the rest (scores, exclusive and "other" options, number grids, the exact ``show_if``, derived
  scores, segments, validity rules, banner, the title's translations) travels in ``wenji_*``
  columns and a ``wenji`` sheet, which other tools ignore. So ``xlsform_read(xlsform_write(d))``
  gives ``d`` back for every valid document in the form ``questionnaire_export`` writes, with
  one exception pyxform imposes on every cell: a no-break space reads back as a space.

The document that comes out of ``xlsform_read`` has not been checked by the rulebook yet:
importing it goes through ``validate_definition`` like every other path.
"""

from survey.xlsform.read import XLSFormImport, xlsform_read
from survey.xlsform.write import xlsform_write

__all__ = ["XLSFormImport", "xlsform_read", "xlsform_write"]
