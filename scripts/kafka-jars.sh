#!/usr/bin/env bash
# Fetches the Apache Kafka 4.1.1 broker and tools jars (and their dependencies)
# from Maven Central into a cache directory, once. Prints the directory.
#
#   scripts/kafka-jars.sh            # -> $NETANOMALY_KAFKA_JARS (default ~/.cache/netanomaly/kafka-jars)
#
# The list of artifacts is scripts/kafka/pom.xml; about 54 MB. A directory
# holding a complete copy (marked by .complete) is left alone.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="${NETANOMALY_KAFKA_JARS:-$HOME/.cache/netanomaly/kafka-jars}"
stamp="$dest/.complete"
want="$(sha256sum "$here/kafka/pom.xml" | cut -d' ' -f1)"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "$dest"
  exit 0
fi
command -v mvn >/dev/null || { echo "kafka-jars: mvn not found (apt-get install maven)" >&2; exit 1; }
command -v java >/dev/null || { echo "kafka-jars: java not found (apt-get install openjdk-17-jre-headless)" >&2; exit 1; }

tmp="$dest.partial"
rm -rf "$tmp"
mkdir -p "$tmp"
echo "kafka-jars: fetching into $dest" >&2
(cd "$here/kafka" && mvn -q -B dependency:copy-dependencies -DoutputDirectory="$tmp") >&2
rm -rf "$dest"
mv "$tmp" "$dest"
echo "$want" >"$stamp"
echo "$dest"
