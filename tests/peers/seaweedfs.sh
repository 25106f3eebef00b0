#!/usr/bin/env bash
# Starts SeaweedFS (master, volume, filer and S3 gateway in one `weed
# server`) on 127.0.0.1 for the object-store tests (issue 19), and creates
# one bucket.
#
#   seaweedfs.sh DIR S3_PORT MASTER_PORT VOLUME_PORT FILER_PORT [BUCKET]
#
# DIR holds the data, the S3 identity file (s3.json) and the log
# (weed.log). The S3 identity is static: access key `ftpkit`, secret
# `ftpkit-secret`, all actions. Runs in the foreground once S3 answers and
# the bucket exists, after printing two lines:
#
#   pid PID            the weed process (kill it to stop SeaweedFS)
#   endpoint URL       the S3 endpoint (http://127.0.0.1:S3_PORT)
#
# so the caller reads the lines and kills PID (or this script: it execs
# nothing, but forwards TERM to weed). `weed` is looked up on PATH, then in
# $FTPKIT_PEERS_PREFIX/bin (install.sh puts it there). Every wait is bounded
# (60 s); on failure the log's tail goes to stderr and the status is 1.
set -euo pipefail

if [ $# -lt 5 ]; then
    echo "usage: $0 DIR S3_PORT MASTER_PORT VOLUME_PORT FILER_PORT [BUCKET]" >&2
    exit 2
fi
DIR=$1 S3_PORT=$2 MASTER_PORT=$3 VOLUME_PORT=$4 FILER_PORT=$5 BUCKET=${6:-ftpkit}
PREFIX=${FTPKIT_PEERS_PREFIX:-/opt/ftpkit-peers}
WEED=$(command -v weed || true)
[ -n "$WEED" ] || WEED="$PREFIX/bin/weed"
if [ ! -x "$WEED" ]; then
    echo "seaweedfs.sh: weed not found (run tests/peers/install.sh)" >&2
    exit 3
fi

mkdir -p "$DIR/data"
cat >"$DIR/s3.json" <<JSON
{
  "identities": [
    {
      "name": "ftpkit",
      "credentials": [{ "accessKey": "ftpkit", "secretKey": "ftpkit-secret" }],
      "actions": ["Admin", "Read", "List", "Tagging", "Write"]
    }
  ]
}
JSON

"$WEED" server -dir="$DIR/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -master.port="$MASTER_PORT" -volume.port="$VOLUME_PORT" -filer.port="$FILER_PORT" \
    -master.volumeSizeLimitMB=64 -volume.max=48 \
    -s3 -s3.port="$S3_PORT" -s3.config="$DIR/s3.json" \
    -s3.port.iceberg=0 -s3.port.lance=0 >"$DIR/weed.log" 2>&1 &
# (The Iceberg and Lance catalogs are off: they listen on fixed ports, 8181
# and 9101, which a second instance or any other program may hold.)
pid=$!
trap 'kill "$pid" 2>/dev/null || true' TERM INT

fail() {
    echo "seaweedfs.sh: $*" >&2
    tail -n 30 "$DIR/weed.log" >&2 || true
    kill "$pid" 2>/dev/null || true
    exit 1
}

# S3 answers (any HTTP status: an unsigned request is refused with 403).
for _ in $(seq 1 120); do
    kill -0 "$pid" 2>/dev/null || fail "weed exited"
    if curl -s -o /dev/null -m 2 "http://127.0.0.1:$S3_PORT/"; then
        break
    fi
    sleep 0.5
done
curl -s -o /dev/null -m 2 "http://127.0.0.1:$S3_PORT/" || fail "S3 did not answer on port $S3_PORT within 60 s"

# The bucket, made with weed shell (signing an S3 CreateBucket by hand is
# not worth it here) unless it exists (a restart on the same DIR);
# retried until the master has a leader and volumes.
shell() { echo "$1" | timeout 20 "$WEED" shell -master="127.0.0.1:$MASTER_PORT" -filer="127.0.0.1:$FILER_PORT" 2>>"$DIR/weed.log"; }
made=0
for _ in $(seq 1 60); do
    if shell "s3.bucket.list" | grep -qw "$BUCKET"; then
        made=1
        break
    fi
    shell "s3.bucket.create -name $BUCKET" >>"$DIR/weed.log" || true
    sleep 1
done
[ "$made" -eq 1 ] || fail "could not create bucket $BUCKET"

echo "pid $pid"
echo "endpoint http://127.0.0.1:$S3_PORT"
wait "$pid"
