#!/usr/bin/env bash
# docker-ensure-initdb.sh [server options]
#   initialize $PGDATA (and run /docker-entrypoint-initdb.d) if it is empty, then exit;
#   useful as an init container / "docker run ... docker-ensure-initdb.sh".
# docker-enforce-initdb.sh (symlink to this file)
#   same, but fail if $PGDATA already holds a cluster.
# Same contract as the official image's helper of that name; implementation is ours.
set -Eeo pipefail

# shellcheck source=/dev/null
source /usr/local/bin/docker-entrypoint.sh

pg_setup_env
pg_create_dirs
if [ "$(id -u)" = '0' ]; then
	exec gosu postgres "${BASH_SOURCE[0]}" "$@"
fi
if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
	shopt -s nullglob
	pg_initialize "$@"
else
	case "$0" in
		*enforce*) pg_die "PGDATA=$PGDATA already contains a database (docker-enforce-initdb.sh)" ;;
		*) pg_log 'PostgreSQL Database directory appears to contain a database; Skipping initialization' ;;
	esac
fi
