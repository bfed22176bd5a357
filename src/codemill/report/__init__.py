"""The human-readable run report: ``report.html`` rendered from a curate run's ``stats.json``."""

from codemill.report.html import render_report, write_report

__all__ = ["render_report", "write_report"]
