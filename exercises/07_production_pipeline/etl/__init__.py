"""A small extract-transform-load service: CSV of trips -> Postgres table ``trips``."""
