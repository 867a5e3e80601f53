#!/bin/bash
# The distribution's tool of the same name (compose's health check calls it), on a small JVM.
exec java -Xmx96m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto \
  -Dlog4j2.configurationFile=/opt/kafka/config-defaults/log4j2.properties \
  -Dlog4j.configuration=file:/opt/kafka/config-defaults/log4j.properties \
  -cp "/opt/kafka/libs/*" org.apache.kafka.tools.BrokerApiVersionsCommand "$@"
