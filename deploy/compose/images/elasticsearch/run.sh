#!/bin/bash
# Starts the node as the distribution's launcher would: elasticsearch.yml from the environment,
# the serialized ServerArgs on the server's standard input (kept open: EOF stops the server),
# and on SIGTERM the byte ESC on that input, which shuts the node down cleanly.
set -euo pipefail
home=$ES_HOME

# As in the official image, a variable whose name has a dot is a setting (discovery.type=...).
# xpack.* settings are skipped: this node has no x-pack.
declare -A settings=(
  [path.data]=$home/data [path.logs]=$home/logs [network.host]=0.0.0.0
  [http.port]=9200 [transport.port]=9300
)
while IFS= read -r -d '' entry; do
  name=${entry%%=*}
  [[ $name =~ ^[a-z0-9_]+(\.[a-z0-9_]+)+$ ]] || continue
  [[ $name == xpack.* ]] && { echo "ignoring $name: this node has no x-pack" >&2; continue; }
  settings[$name]=${entry#*=}
done < <(env -0)
: > "$home/config/elasticsearch.yml"
for name in "${!settings[@]}"; do
  value=${settings[$name]//\\/\\\\}
  printf '%s: "%s"\n' "$name" "${value//\"/\\\"}" >> "$home/config/elasticsearch.yml"
done

java -Xmx64m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$home/lib/*:$home/launcher" \
  ServerArgsWriter "$home" "$home/tmp/server-args"

rm -f "$home/tmp/stdin" && mkfifo "$home/tmp/stdin"
export LIBFFI_TMPDIR=$home/tmp
bridge=$(echo "$home"/lib/entitlement-bridge/*.jar)
# shellcheck disable=SC2086 # ES_JAVA_OPTS holds several options
java ${ES_JAVA_OPTS:--Xms1g -Xmx1g} -XX:+UseG1GC \
  -Des.path.home="$home" -Des.path.conf="$home/config" -Des.distribution.type=tar \
  -Djava.io.tmpdir="$home/tmp" -Dfile.encoding=UTF-8 -Djava.locale.providers=CLDR \
  -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true -Dio.netty.recycler.maxCapacityPerThread=0 \
  -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true -Dlog4j2.formatMsgNoLookups=true \
  --enable-native-access=org.elasticsearch.nativeaccess,org.elasticsearch.foreign,org.apache.lucene.core \
  -Dorg.elasticsearch.nativeaccess.enableVectorLibrary=false \
  -Des.entitlements.enabled=true -XX:+EnableDynamicAgentLoading -Djdk.attach.allowAttachSelf=true \
  --patch-module=java.base="$bridge" \
  --add-exports=java.base/org.elasticsearch.entitlement.bridge=org.elasticsearch.entitlement,java.logging,java.net.http,java.naming,jdk.net \
  --module-path="$home/lib" --add-modules=jdk.net --add-modules=jdk.management.agent --add-modules=ALL-MODULE-PATH \
  -m org.elasticsearch.server/org.elasticsearch.bootstrap.Elasticsearch < "$home/tmp/stdin" &
server=$!
exec 3> "$home/tmp/stdin"
cat "$home/tmp/server-args" >&3
trap 'printf "\033" >&3 || true' TERM INT

set +e
while :; do
  wait "$server"
  code=$?
  kill -0 "$server" 2>/dev/null || break
done
exit "$code"
