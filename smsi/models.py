"""SMSI (ISO/IEC 27001 ISMS): security incidents with their timeline and the organisations they
affect, and the Statement of Applicability (Annex A controls) with its approved versions."""

from __future__ import annotations
