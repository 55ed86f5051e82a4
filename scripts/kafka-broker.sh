#!/usr/bin/env bash
# Starts or stops a local single-node Apache Kafka broker in KRaft mode (no
# ZooKeeper), listening on 127.0.0.1 only, from the jars scripts/kafka-jars.sh
# fetches. For development and tests; not a production setup.
#
#   scripts/kafka-broker.sh start [DIR]   # formats DIR once, starts, waits until it accepts
#   scripts/kafka-broker.sh stop  [DIR]   # SIGTERM (controlled shutdown), waits for exit
#   scripts/kafka-broker.sh status [DIR]
#
# DIR (default .cache/kafka-broker) keeps server.properties, the log
# directory, broker.pid and broker.log; starting again after stop keeps the
# topics and committed offsets. Environment:
#   KAFKA_PORT             client listener port   (9092)
#   KAFKA_CONTROLLER_PORT  controller port        (KAFKA_PORT + 1)
#   KAFKA_HEAP             JVM heap               (512m)
#   NETANOMALY_KAFKA_JARS  jar directory          (see scripts/kafka-jars.sh)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cmd="${1:-}"
dir="${2:-$here/../.cache/kafka-broker}"
port="${KAFKA_PORT:-9092}"
cport="${KAFKA_CONTROLLER_PORT:-$((port + 1))}"
heap="${KAFKA_HEAP:-512m}"
pidfile="$dir/broker.pid"
log4j="-Dlog4j.configuration=file:$here/kafka/log4j.properties"

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

# Exit 0 once 127.0.0.1:$1 accepts a TCP connection.
accepts() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

case "$cmd" in
start)
  jars="$("$here/kafka-jars.sh")"
  mkdir -p "$dir"
  if running; then
    echo "kafka-broker: already running (pid $(cat "$pidfile"))" >&2
    exit 0
  fi
  if [ ! -f "$dir/server.properties" ]; then
    cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
num.partitions=6
log.dirs=$dir/data
PROPS
  fi
  if [ ! -f "$dir/data/meta.properties" ]; then
    id="$(java $log4j -cp "$jars/*" kafka.tools.StorageTool random-uuid)"
    java $log4j -cp "$jars/*" kafka.tools.StorageTool format -t "$id" -c "$dir/server.properties" >"$dir/format.log" 2>&1 ||
      { cat "$dir/format.log" >&2; exit 1; }
  fi
  nohup java "-Xmx$heap" "-Xms$heap" -XX:+UseSerialGC $log4j -cp "$jars/*" kafka.Kafka "$dir/server.properties" \
    >"$dir/broker.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 600); do
    if accepts "$port"; then
      echo "kafka-broker: listening on 127.0.0.1:$port (pid $(cat "$pidfile"), $dir)" >&2
      exit 0
    fi
    if ! running; then
      tail -n 30 "$dir/broker.log" >&2
      echo "kafka-broker: exited during start (log: $dir/broker.log)" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "kafka-broker: not accepting on 127.0.0.1:$port after 60 s (log: $dir/broker.log)" >&2
  exit 1
  ;;
stop)
  if ! running; then
    echo "kafka-broker: not running" >&2
    exit 0
  fi
  pid="$(cat "$pidfile")"
  kill -TERM "$pid"
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; echo "kafka-broker: stopped" >&2; exit 0; }
    sleep 0.1
  done
  echo "kafka-broker: still running after 30 s; sending SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  ;;
status)
  if running; then echo "running (pid $(cat "$pidfile"))"; else echo "stopped"; exit 1; fi
  ;;
*)
  sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
