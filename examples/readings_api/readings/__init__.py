"""A small read API over sensor readings in Postgres: lesson 10's worked example."""
