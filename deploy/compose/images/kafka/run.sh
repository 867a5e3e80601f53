#!/bin/bash
# The broker's settings come from the environment as in the official image: KAFKA_FOO_BAR=x
# becomes foo.bar=x ("__" stands for "_", "___" for "-"); CLUSTER_ID names the KRaft cluster.
# A fresh log directory is formatted first; then the broker runs in the foreground as PID 1.
set -euo pipefail

config=/opt/kafka/config/server.properties
: > "$config"
for name in $(compgen -e); do
  case "$name" in
    KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_JVM_PERFORMANCE_OPTS | KAFKA_LOG4J_OPTS | KAFKA_JMX_OPTS \
      | KAFKA_GC_LOG_OPTS | KAFKA_VERSION) continue ;;
    KAFKA_*) ;;
    *) continue ;;
  esac
  key=${name#KAFKA_}
  key=${key,,}
  key=${key//___/-}
  key=${key//__/%}
  key=${key//_/.}
  key=${key//%/_}
  printf '%s=%s\n' "$key" "${!name}" >> "$config"
done

if ! grep -q '^log.dirs=' "$config"; then
  echo "log.dirs=/var/lib/kafka/data" >> "$config"
fi

java_cmd=(java ${KAFKA_HEAP_OPTS:--Xms1g -Xmx1g}
  ${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true}
  -Dlog4j.configuration=file:/opt/kafka/config-defaults/log4j.properties
  -Dlog4j2.configurationFile=/opt/kafka/config-defaults/log4j2.properties
  ${KAFKA_OPTS:-}
  -cp "/opt/kafka/libs/*")

log_dirs=$(sed -n 's/^log\.dirs=//p' "$config")
if [ ! -e "${log_dirs%%,*}/meta.properties" ]; then
  : "${CLUSTER_ID:?CLUSTER_ID must name the KRaft cluster (22 characters of base64url)}"
  "${java_cmd[@]}" kafka.tools.StorageTool format --cluster-id "$CLUSTER_ID" --config "$config" --ignore-formatted
fi

exec "${java_cmd[@]}" kafka.Kafka "$config"
