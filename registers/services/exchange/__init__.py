"""Export and import of an organisation's register (XLSX and CSV) in the column layout of the CNIL
register model ("modèle de registre", art. 30.1).

**Files.** The XLSX workbook has a sheet "Organisation" (the header of the CNIL model: the
organisation, its head and its DPO; exported for the reader, ignored on import: these are edited on
the organisation's page) and a sheet "Registre", one row per fiche of the register (models excluded,
archived fiches included: the "Statut" column says so), ordered by reference. The CSV file is the
"Registre" sheet alone, UTF-8 with a BOM, ``;`` between cells, CRLF between rows (what Excel in
French opens without an import wizard; the import also accepts ``,`` and Windows-1252, which is
what Excel writes back).

**Cells.** Everything is text, in French whatever the language of the page (the file is a document
of the register, and the same file must import for everybody): reference lists are written with
their French label and read back from the French or English label, the short label (before the
parenthesis) or the id, ignoring case and accents. Dates are ``JJ/MM/AAAA``. Multi-valued cells hold
one value per line; a value that itself runs over several lines goes on with lines indented by four
spaces, so the encoding stays unambiguous:

* Sous-finalités, Personnes concernées, Catégories de données, Données sensibles, Applications,
  Critères AIPD: one label (or name) per line;
* Destinataires: ``<type> : <nom>`` per line, e.g. ``Sous-traitants : SIIM94`` (the type alone when
  there is no name);
* Mesures de sécurité: ``<mesure> : <précisions>`` per line;
* Transferts hors UE: one block per transfer, ``Destinataire : <nom>`` then, indented by two spaces,
  ``Pays : …``, ``Garantie : …`` and ``Documentation : …`` lines (empty ones left out).

Each data category has four columns (details and the three retention phases) after the
"Catégories de données" column, which lists the categories the fiche holds (a category may be held
with nothing written beside it). Three DPIA columns follow the criteria beyond the CNIL model's list
(the CNIL lists of processing types and the reasoning): without them a verdict "AIPD requise" could
not be explained, and an import would lose them. "Date de création", "Dernière mise à jour" and
"AIPD requise" are computed: exported, never imported.

**Formulas.** Every cell goes through ``core.exports.neutralise(value, reversible=True)``: a cell
starting with ``= + - @``, a tab or a carriage return (or an apostrophe) gets a leading apostrophe,
which the import removes (see :mod:`core.exports`).

**Import** (upload → mapping → preview → confirmation). Any spreadsheet imports: a CSV file (any
encoding Excel writes, ``,`` ``;`` or tab), an XLSX or ODS workbook (:mod:`.reading`). Égide proposes a
field for each column — its own export's headers, the CNIL register model's and Madis's, matched
without case, accents or punctuation (:mod:`.targets`) — and the DPO confirms or changes each one,
and may save the mapping as a named preset of the organisation for its next files. The preview then
lists every problem at once, by line and column with the value (:mod:`.importing`); nothing is written
before the confirmation, and then everything or nothing. A row whose reference is that of a fiche of
the register updates it, any other row creates a fiche (an empty reference gets the next
``TRT-NNN``); in Égide's own layout a cell left as exported changes nothing, so a re-import of an
export gives back the same export. Dates of creation and update found in the file are kept as the
fiche's declared dates, beside Égide's own history.

**Between the steps** the file's cells are kept in the database, encrypted, bound to the user and
the organisation, only until confirmation, abandonment or expiry (:mod:`.pending`); the
confirmation checks the file again (the register may have changed meanwhile) and writes only if the
plan is still the one the person saw (its fingerprint). A second confirmation says "déjà importé".
"""

from __future__ import annotations

from registers.services.exchange.cells import (
    decode_list,
    decode_pairs,
    decode_transfers,
    encode_list,
    encode_pairs,
    encode_transfers,
)
from registers.services.exchange.columns import headers
from registers.services.exchange.export import FORMATS, export_register
from registers.services.exchange.importing import (
    ImportFailed,
    ImportPlan,
    ImportResult,
    RowError,
    apply_import,
    plan_import,
)
from registers.services.exchange.pending import (
    cancel_import,
    delete_preset,
    expire_import,
    is_expired,
    mark_imported,
    presets,
    purge_expired,
    save_mapping,
    save_preset,
    store_import,
    table_of,
    upload_import,
)
from registers.services.exchange.reading import (
    MAX_ROWS,
    MAX_UPLOAD_BYTES,
    ImportFileError,
    Table,
    limits_text,
    read_table,
)
from registers.services.exchange.targets import choices, propose

__all__ = [
    "FORMATS",
    "MAX_ROWS",
    "MAX_UPLOAD_BYTES",
    "ImportFailed",
    "ImportFileError",
    "ImportPlan",
    "ImportResult",
    "RowError",
    "Table",
    "apply_import",
    "cancel_import",
    "choices",
    "decode_list",
    "decode_pairs",
    "decode_transfers",
    "delete_preset",
    "encode_list",
    "encode_pairs",
    "encode_transfers",
    "expire_import",
    "export_register",
    "headers",
    "is_expired",
    "limits_text",
    "mark_imported",
    "plan_import",
    "presets",
    "propose",
    "purge_expired",
    "read_table",
    "save_mapping",
    "save_preset",
    "store_import",
    "table_of",
    "upload_import",
]
