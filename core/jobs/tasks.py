"""The kernel's periodic jobs: signing the journal's chain heads every night.

(The domains declare theirs in their own modules: registers.jobs purges expired imports; the
weekly digest lives with the accounts, who receive it — accounts.services.digest.)
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from core import audit
from core.jobs.queue import job, paris_crontab


@job("audit.anchor", label=_l("Signature des têtes du journal"), schedule=paris_crontab("15", "2"))
def anchor_journal_heads() -> int:
    """What ``flask audit anchor`` does (core.audit.anchor_heads), every night at 2:15."""
    return len(audit.anchor_heads().anchors)
