#!/usr/bin/env bash
# Entrypoint of the postgres:15-bookworm replica.
#
# Written for this course to honour the documented contract of the official
# postgres image (https://hub.docker.com/_/postgres, "Environment Variables" and
# "Initialization scripts"):
#   POSTGRES_PASSWORD / POSTGRES_PASSWORD_FILE (required unless POSTGRES_HOST_AUTH_METHOD=trust)
#   POSTGRES_USER(_FILE) (default postgres), POSTGRES_DB(_FILE) (default = user),
#   POSTGRES_INITDB_ARGS(_FILE), POSTGRES_INITDB_WALDIR, POSTGRES_HOST_AUTH_METHOD,
#   PGDATA, /docker-entrypoint-initdb.d/{*.sh,*.sql,*.sql.gz,*.sql.xz,*.sql.zst}
# Initialization only happens when $PGDATA holds no cluster yet; the server is then
# started on the unix socket only, the init scripts run, it is stopped, and the real
# server is exec'd as PID 1 (as user postgres, via gosu when started as root).
set -Eeo pipefail

pg_log() { printf '%s\n' "$*"; }
pg_warn() { printf 'WARNING: %s\n' "$*" >&2; }
pg_die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# file_env VAR [DEFAULT]: take VAR from $VAR or from the file named by $VAR_FILE
file_env() {
	local var="$1" fileVar="${1}_FILE" def="${2:-}"
	if [ -n "${!var:-}" ] && [ -n "${!fileVar:-}" ]; then
		pg_die "both $var and $fileVar are set (but are exclusive)"
	fi
	local val="$def"
	if [ -n "${!var:-}" ]; then
		val="${!var}"
	elif [ -n "${!fileVar:-}" ]; then
		[ -r "${!fileVar}" ] || pg_die "$fileVar=${!fileVar} is not a readable file"
		val="$(< "${!fileVar}")"
	fi
	export "$var"="$val"
	unset "$fileVar"
}

pg_is_sourced() {
	[ "${#FUNCNAME[@]}" -ge 2 ] && [ "${FUNCNAME[0]}" = 'pg_is_sourced' ] && [ "${FUNCNAME[1]}" = 'source' ]
}

pg_setup_env() {
	file_env 'POSTGRES_PASSWORD'
	file_env 'POSTGRES_USER' 'postgres'
	file_env 'POSTGRES_DB' "$POSTGRES_USER"
	file_env 'POSTGRES_INITDB_ARGS'
	: "${POSTGRES_HOST_AUTH_METHOD:=}"
	: "${PGDATA:=/var/lib/postgresql/data}"
	export PGDATA
	declare -g DATABASE_ALREADY_EXISTS=
	if [ -s "$PGDATA/PG_VERSION" ]; then
		DATABASE_ALREADY_EXISTS='true'
	fi
}

pg_create_dirs() {
	local user; user="$(id -u)"
	mkdir -p "$PGDATA"
	# initdb refuses group/world-accessible data directories
	chmod 00700 "$PGDATA" || :
	mkdir -p /var/run/postgresql || :
	chmod 03775 /var/run/postgresql || :
	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
		mkdir -p "$POSTGRES_INITDB_WALDIR"
		[ "$user" != '0' ] || find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres '{}' +
		chmod 700 "$POSTGRES_INITDB_WALDIR"
	fi
	if [ "$user" = '0' ]; then
		find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
		find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
	fi
}

pg_verify_env() {
	if [ -z "$POSTGRES_PASSWORD" ] && [ 'trust' != "$POSTGRES_HOST_AUTH_METHOD" ]; then
		cat >&2 <<-'EOE'
			Error: Database is uninitialized and superuser password is not specified.
			       You must specify POSTGRES_PASSWORD to a non-empty value for the
			       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

			       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
			       connections without a password. This is *not* recommended.

			       See PostgreSQL documentation about "trust":
			       https://www.postgresql.org/docs/current/auth-trust.html
		EOE
		exit 1
	fi
	if [ 'trust' = "$POSTGRES_HOST_AUTH_METHOD" ]; then
		pg_warn 'POSTGRES_HOST_AUTH_METHOD has been set to "trust": every host can connect without a password. Do not do this in production.'
	fi
	if [ "${#POSTGRES_PASSWORD}" -ge 100 ]; then
		pg_warn 'POSTGRES_PASSWORD is 100+ characters; some clients truncate long passwords.'
	fi
}

pg_init_db() {
	# arbitrary --user: give initdb a passwd entry through nss_wrapper
	local uid; uid="$(id -u)"
	local wrapped=
	if ! getent passwd "$uid" > /dev/null 2>&1; then
		local lib
		for lib in /usr/lib/libnss_wrapper.so /usr/lib/*/libnss_wrapper.so; do
			[ -s "$lib" ] || continue
			NSS_WRAPPER_PASSWD="$(mktemp)"; NSS_WRAPPER_GROUP="$(mktemp)"
			export LD_PRELOAD="$lib" NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
			local gid; gid="$(id -g)"
			printf 'postgres:x:%s:%s:PostgreSQL:%s:/bin/false\n' "$uid" "$gid" "$PGDATA" > "$NSS_WRAPPER_PASSWD"
			printf 'postgres:x:%s:\n' "$gid" > "$NSS_WRAPPER_GROUP"
			wrapped=1
			break
		done
	fi

	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
		set -- --waldir "$POSTGRES_INITDB_WALDIR" "$@"
	fi
	# shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a word list on purpose
	eval 'initdb --username="$POSTGRES_USER" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") '"$POSTGRES_INITDB_ARGS"' "$@"'

	if [ -n "$wrapped" ]; then
		rm -f "$NSS_WRAPPER_PASSWD" "$NSS_WRAPPER_GROUP"
		unset LD_PRELOAD NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
	fi
}

pg_setup_hba() {
	# default: the server's password_encryption (scram-sha-256 on 14+)
	if [ -z "$POSTGRES_HOST_AUTH_METHOD" ]; then
		POSTGRES_HOST_AUTH_METHOD="$(postgres -C password_encryption "$@")"
	fi
	{
		printf '\n'
		if [ 'trust' = "$POSTGRES_HOST_AUTH_METHOD" ]; then
			printf '# warning: trust is enabled for all connections\n'
		fi
		printf 'host all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD"
	} >> "$PGDATA/pg_hba.conf"
}

# psql against the temporary (socket-only) server
pg_process_sql() {
	local args=( -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc )
	if [ -n "$POSTGRES_DB" ]; then
		args+=( --dbname "$POSTGRES_DB" )
	fi
	PGHOST='' PGHOSTADDR='' psql "${args[@]}" "$@"
}

pg_temp_start() {
	set -- "$@" -c listen_addresses='' -p "${PGPORT:-5432}"
	PGUSER="${PGUSER:-$POSTGRES_USER}" \
		pg_ctl -D "$PGDATA" -o "$(printf '%q ' "$@")" -w start
}

pg_temp_stop() {
	PGUSER="${PGUSER:-postgres}" pg_ctl -D "$PGDATA" -m fast -w stop
}

# POSTGRES_DB='' for the call only (connect to "postgres"), while --set db= sees the real name
# shellcheck disable=SC2097,SC2098
pg_setup_db() {
	local exists
	exists="$(POSTGRES_DB='' pg_process_sql --dbname postgres --set db="$POSTGRES_DB" --tuples-only <<-'EOSQL'
		SELECT 1 FROM pg_database WHERE datname = :'db' ;
	EOSQL
	)"
	if [ -z "$exists" ]; then
		POSTGRES_DB='' pg_process_sql --dbname postgres --set db="$POSTGRES_DB" <<-'EOSQL'
			CREATE DATABASE :"db" ;
		EOSQL
		pg_log
	fi
}

# pg_process_init_files FILE...: *.sh (exec if executable, else sourced), *.sql[.gz|.xz|.zst]
pg_process_init_files() {
	local f
	pg_log
	for f; do
		case "$f" in
			*.sh)
				if [ -x "$f" ]; then
					pg_log "$0: running $f"
					"$f"
				else
					pg_log "$0: sourcing $f"
					# shellcheck disable=SC1090
					. "$f"
				fi
				;;
			*.sql)     pg_log "$0: running $f"; pg_process_sql -f "$f"; pg_log ;;
			*.sql.gz)  pg_log "$0: running $f"; gunzip -c "$f" | pg_process_sql; pg_log ;;
			*.sql.xz)  pg_log "$0: running $f"; xzcat "$f" | pg_process_sql; pg_log ;;
			*.sql.zst) pg_log "$0: running $f"; zstd -dc "$f" | pg_process_sql; pg_log ;;
			*)         pg_log "$0: ignoring $f" ;;
		esac
	done
}

# first start: initdb, pg_hba, create POSTGRES_DB, run /docker-entrypoint-initdb.d
pg_initialize() {
	pg_verify_env
	ls /docker-entrypoint-initdb.d/ > /dev/null
	pg_init_db
	pg_setup_hba "$@"
	export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
	pg_temp_start "$@"
	pg_setup_db
	pg_process_init_files /docker-entrypoint-initdb.d/*
	pg_temp_stop
	unset PGPASSWORD
	pg_log
	pg_log 'PostgreSQL init process complete; ready for start up.'
	pg_log
}

# postgres -V / --help / -C ... should not trigger initialization
pg_want_help() {
	local arg
	for arg; do
		case "$arg" in
			-'?'|--help|--describe-config|-V|--version|-C) return 0 ;;
		esac
	done
	return 1
}

pg_main() {
	shopt -s nullglob
	if [ "${1:0:1}" = '-' ]; then
		set -- postgres "$@"
	fi
	if [ "$1" = 'postgres' ] && ! pg_want_help "$@"; then
		pg_setup_env
		pg_create_dirs
		if [ "$(id -u)" = '0' ]; then
			# step down from root, keeping the (already resolved) environment
			exec gosu postgres "${BASH_SOURCE[0]}" "$@"
		fi
		if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
			# server options only (without the leading "postgres")
			pg_initialize "${@:2}"
		else
			pg_log
			pg_log 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
			pg_log
		fi
	fi
	exec "$@"
}

if ! pg_is_sourced; then
	pg_main "$@"
fi
