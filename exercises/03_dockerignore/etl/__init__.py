"""Order totals per sales region: a small stand-in for a real ETL job."""
