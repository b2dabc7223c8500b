"""The RSSI's texts of an annual report: the year's highlights and next year's plan, one row per
organisation and year, printed in the report (the consolidated report prints the syndicate's)."""

from __future__ import annotations

from sqlalchemy import Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, OrgScopedMixin, TimestampMixin, VersionedMixin


class AnnualReportText(TimestampMixin, VersionedMixin, OrgScopedMixin, Base):
    __tablename__ = "annual_report_texts"
    __table_args__ = (UniqueConstraint("organisation_id", "year", name="uq_annual_report_texts_org_year"),)

    year: Mapped[int] = mapped_column(Integer)
    highlights: Mapped[str | None] = mapped_column(Text)
    plan: Mapped[str | None] = mapped_column(Text)
