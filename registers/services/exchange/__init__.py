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

**Import.** A row whose reference is that of a fiche of the register updates it, any other row
creates a fiche (an empty reference gets the next ``TRT-NNN``). Each row is compared with what the
export of that fiche would write, column by column: only the columns that differ are read and
passed to :func:`registers.services.activities.update_activity`, so a row left as exported changes
nothing (no version, no journal entry, "Dernière mise à jour" stays), a link kept outside the file
(a recipient's organisation) survives, and a re-import of an export gives back the same export,
byte for byte. Everything is checked before anything is written (:func:`plan_import`); the writes
then run in the caller's single transaction (:func:`apply_import`), which the view rolls back on
the first failure.

**Confirmation.** The preview and the confirmation are two requests. The uploaded file is kept
server-side (:func:`store_upload`) in ``REGISTER_IMPORT_DIR`` (default ``<instance>/imports``)
under a random token bound to the user and the organisation, for ``REGISTER_IMPORT_TTL_MINUTES``
(30): the confirmation names the token, the file is read and checked again (the register may have
changed meanwhile), and the writes happen only if the plan is still the one the person saw (its
fingerprint). Nobody re-uploads, nothing travels through the browser twice, and a token is useless
to another account or organisation. With several servers, the folder must be shared.
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
from registers.services.exchange.export import export_register
from registers.services.exchange.importing import ImportFailed, ImportPlan, apply_import, plan_import
from registers.services.exchange.reading import MAX_UPLOAD_BYTES, ImportFileError
from registers.services.exchange.uploads import discard_upload, plan_stored, preview_upload, store_upload

__all__ = [
    "MAX_UPLOAD_BYTES",
    "ImportFailed",
    "ImportFileError",
    "ImportPlan",
    "apply_import",
    "decode_list",
    "decode_pairs",
    "decode_transfers",
    "discard_upload",
    "encode_list",
    "encode_pairs",
    "encode_transfers",
    "export_register",
    "headers",
    "plan_import",
    "plan_stored",
    "preview_upload",
    "store_upload",
]
