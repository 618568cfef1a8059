"""Load step of a pipeline: talks to PostgreSQL through psycopg2, a C extension over libpq.

psycopg2 is compiled from source when the image is built (PyPI has no Linux wheel for it),
so building needs gcc and libpq's headers; *running* needs only the shared library libpq.so.5.

Without a database this proves the whole chain works: the compiled extension imports, it is
linked against libpq, and libpq itself gets as far as dialling a server (nothing listens on
port 1, so libpq reports the refusal in its own words).
"""

import os

import psycopg2
from psycopg2 import extensions

DSN = os.environ.get("DATABASE_URL", "host=127.0.0.1 port=1 dbname=warehouse user=etl")


def main() -> None:
    version = psycopg2.__version__.split()[0]
    print(f"psycopg2 {version} compiled against libpq {extensions.libpq_version()}")
    try:
        with psycopg2.connect(DSN, connect_timeout=3) as conn:
            print(f"connected: server {conn.server_version}")
    except psycopg2.OperationalError as exc:
        print("libpq answered:", str(exc).strip().splitlines()[0])


if __name__ == "__main__":
    main()
