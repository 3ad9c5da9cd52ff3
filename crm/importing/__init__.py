"""Importing leads and contacts from .xlsx and .csv: one importer behind the browser wizard
and the command line.

    table = read_table(data, "people.xlsx")                # ImportFileError if unusable
    mapping = guess_mapping("contact", table.headers)      # header -> field key or None
    preview = validate(user, db, "contact", table, mapping, ImportOptions(dayfirst=True))
    preview.problems                                       # [ImportProblem(row, column, message)]
    result = commit(user, db, "contact", preview, on_duplicate="skip", skip_invalid=True)
    rejected_report(result)                                # .xlsx bytes of the rejected rows
    undo_batch(user, db, result.batch_id)                  # UndoRefused lists changed IDs

The wizard fixes a cell by editing `table.frame` and validating again.
"""

from crm.importing.batches import UndoRefused, UndoResult, list_batches, undo_batch
from crm.importing.commit import (
    ON_DUPLICATE,
    ImportRefused,
    ImportResult,
    commit,
    rejected_report,
)
from crm.importing.fields import (
    FIELDS,
    ImportField,
    guess_mapping,
    mapping_reasons,
    split_full_name,
)
from crm.importing.preview import (
    ImportNotAllowed,
    ImportOptions,
    ImportProblem,
    Match,
    Preview,
    validate,
)
from crm.importing.reading import MAX_FILE_BYTES, MAX_ROWS, ImportFileError, RawTable, read_table
from crm.importing.template import template

__all__ = [
    "FIELDS",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "ON_DUPLICATE",
    "ImportField",
    "ImportFileError",
    "ImportNotAllowed",
    "ImportOptions",
    "ImportProblem",
    "ImportRefused",
    "ImportResult",
    "Match",
    "Preview",
    "RawTable",
    "UndoRefused",
    "UndoResult",
    "commit",
    "guess_mapping",
    "list_batches",
    "mapping_reasons",
    "read_table",
    "rejected_report",
    "split_full_name",
    "template",
    "undo_batch",
    "validate",
]
