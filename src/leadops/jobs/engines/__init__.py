"""Engines that turn feature chunks into score rows: DuckDB/pandas on one machine, Spark on a cluster."""
