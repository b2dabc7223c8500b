"""The registers' records for the route walkers: one object of each model with an address of its
own, owned by a tenant's syndicate (where the world's users hold their roles).

Found by tests/conftest.py (every ``tests/<domain>/records.py`` is): ``build(tenant)`` makes the
records, ``URL_ARGUMENTS`` says which URL argument each one fills.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.security import Role
from tests.registers import factories as f

if TYPE_CHECKING:
    from tests.conftest import Tenant


@dataclass
class RegisterRecords:
    activity: Any
    version: Any
    rights_request: Any
    breach: Any
    report: Any
    document_job: Any
    register_import: Any
    import_preset: Any
    processor: Any


def build(tenant: Tenant) -> RegisterRecords:
    activity = f.ProcessingActivityFactory(organisation=tenant.syndicate)
    return RegisterRecords(
        activity=activity,
        version=f.ActivityVersionFactory(activity=activity),
        rights_request=f.RightsRequestFactory(organisation=tenant.syndicate),
        breach=f.BreachFactory(organisation=tenant.syndicate),
        report=f.GeneratedReportFactory(organisation=tenant.syndicate),
        document_job=f.DocumentJobFactory(organisation=tenant.syndicate),
        # A pending import of the syndicate's DPO (an import is its uploader's alone: 404 to others).
        register_import=f.RegisterImportFactory(organisation=tenant.syndicate, user=tenant.users[Role.DPO]),
        import_preset=f.ImportPresetFactory(organisation=tenant.syndicate),
        processor=f.ProcessorFactory(organisation=tenant.syndicate),
    )


URL_ARGUMENTS: dict[str, Callable[[RegisterRecords], Any]] = {
    "activity_id": lambda r: r.activity.id,
    "number": lambda r: r.version.number,
    "rights_request_id": lambda r: r.rights_request.id,
    "breach_id": lambda r: r.breach.id,
    "report_id": lambda r: r.report.id,
    "document_job_id": lambda r: r.document_job.id,
    "import_id": lambda r: r.register_import.id,
    "preset_id": lambda r: r.import_preset.id,
    "processor_id": lambda r: r.processor.id,
}
