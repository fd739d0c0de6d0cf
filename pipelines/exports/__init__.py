"""Data leaving trainsmart for other engines: the raw tables as hive-partitioned Parquet
(`trainsmart export-raw DIR`, the Dagster asset exports/raw_parquet)."""

from pipelines.exports.raw_parquet import RawExport, default_export_dir, export_raw

__all__ = ["RawExport", "default_export_dir", "export_raw"]
