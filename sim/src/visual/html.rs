//! The HTML explore report.
