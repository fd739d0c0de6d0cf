"""Exports for other engines: the raw tables as hive-partitioned Parquet (not in the nightly job)."""
