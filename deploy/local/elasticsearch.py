#!/usr/bin/env python3
"""Run a real single-node Elasticsearch from Maven Central artifacts.

Needs only Python 3.11+, Maven, and a JDK 21+ (javac included); no Elasticsearch download,
no container.

    python deploy/local/elasticsearch.py fetch                  # resolve and assemble the node once
    python deploy/local/elasticsearch.py start --data-dir DIR   # start, print ELASTICSEARCH_URL=...
    python deploy/local/elasticsearch.py run                    # fetch + start on 127.0.0.1:9200 (humans)

The distribution (and its launcher) is not published on Maven Central, so this script does the
launcher's job: it arranges the server's jars as an ES_HOME, builds the three small pieces the
distribution would bring (entitlement agent, console stub, a writer of the serialized
ServerArgs), and feeds those args to the server on its stdin; writing ESC there stops the node
cleanly. Security is off and the node listens on 127.0.0.1 only. Not in this node (unpublished
modules): analysis-common (no `english` analyzer, no `asciifolding`), mapper-extras, reindex
(no `*_by_query`), painless, rest-root (`GET /` and `HEAD /` answer 405), x-pack.

`start` and `run` stay in the foreground until SIGTERM or SIGINT. If this script itself is
killed, the kernel kills the JVM too (PR_SET_PDEATHSIG). Elasticsearch refuses to run as root:
as root the JVM runs as nobody (65534), from a folder under the system temp dir when DIR is not
reachable by nobody.

Everything fetched lives in `~/.cache/microblog/elasticsearch-<version>/` (override:
MICROBLOG_ELASTICSEARCH_CACHE) and Maven's own `~/.m2`; never in the repository. The JDK is
taken from MICROBLOG_ELASTICSEARCH_JAVA_HOME, JAVA_HOME, `java` on PATH or /usr/lib/jvm, the
first that is 21 or newer.
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import hashlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

ES_VERSION = "9.5.3"
MIN_JAVA = 21
READY_MARKER = ".complete"
NOBODY = 65534
PR_SET_PDEATHSIG = 1
ESC = b"\x1b"

POM = f"""<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>microblog.local</groupId>
  <artifactId>elasticsearch-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.elasticsearch</groupId><artifactId>elasticsearch</artifactId><version>{ES_VERSION}</version></dependency>
    <dependency><groupId>org.elasticsearch.plugin</groupId><artifactId>transport-netty4</artifactId><version>{ES_VERSION}</version></dependency>
    <dependency><groupId>org.elasticsearch</groupId><artifactId>elasticsearch-entitlement-bridge</artifactId><version>{ES_VERSION}</version></dependency>
  </dependencies>
  <build><plugins><plugin>
    <groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId><version>3.8.1</version>
  </plugin></plugins></build>
</project>
"""

# The server attaches this agent to itself, naming the class that installs the entitlement checks.
ENTITLEMENT_AGENT = """package org.elasticsearch.entitlement.agent;
public final class EntitlementAgent {
    public static void agentmain(String initializer, java.lang.instrument.Instrumentation inst) throws Exception {
        Class.forName(initializer).getMethod("initialize", java.lang.instrument.Instrumentation.class).invoke(null, inst);
    }
}
"""

# The server asks the (unpublished) ANSI console library for a console; there is none.
ANSI_CONSOLE_STUB = """package org.elasticsearch.io.ansi;
@SuppressWarnings("rawtypes")
public final class AnsiConsoleLoader implements java.util.function.Supplier {
    public Object get() { return null; }
}
"""

# What the distribution's launcher sends on the server's stdin: settings, empty keystore, paths.
SERVER_ARGS_WRITER = """import java.nio.file.*;
import java.util.Map;
import org.elasticsearch.bootstrap.ServerArgs;
import org.elasticsearch.common.io.stream.OutputStreamStreamOutput;
import org.elasticsearch.common.settings.KeyStoreWrapper;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.InternalSettingsPreparer;
public final class ServerArgsWriter {
    public static void main(String[] args) throws Exception {
        Path home = Path.of(args[0]).toAbsolutePath();
        Environment env = InternalSettingsPreparer.prepareEnvironment(
            Settings.EMPTY, Map.of("path.home", home.toString()), home.resolve("config"), () -> "local");
        ServerArgs serverArgs = new ServerArgs(false, false, null, KeyStoreWrapper.create(),
            env.settings(), env.configDir(), env.logsDir());
        try (var out = new OutputStreamStreamOutput(Files.newOutputStream(Path.of(args[1])))) {
            serverArgs.writeTo(out);
        }
    }
}
"""

LOG4J2 = """status = error
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] %marker%m%n
rootLogger.level = info
rootLogger.appenderRef.console.ref = console
logger.deprecation.name = org.elasticsearch.deprecation
logger.deprecation.level = error
"""


def log(message: str) -> None:
    print(f"[elasticsearch.py] {message}", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    override = os.environ.get("MICROBLOG_ELASTICSEARCH_CACHE")
    if override:
        return Path(override).expanduser().resolve()
    return Path.home() / ".cache" / "microblog" / f"elasticsearch-{ES_VERSION}"


def java_version(java_home: Path) -> int:
    try:
        for line in (java_home / "release").read_text().splitlines():
            if line.startswith("JAVA_VERSION="):
                return int(line.split("=", 1)[1].strip('"').split(".")[0])
    except (OSError, ValueError):
        pass
    return 0


def find_jdk() -> Path | None:
    """A JDK (with javac) of version 21+, or None."""
    candidates = [os.environ.get("MICROBLOG_ELASTICSEARCH_JAVA_HOME"), os.environ.get("JAVA_HOME")]
    java = shutil.which("java")
    if java:
        candidates.append(str(Path(java).resolve().parent.parent))
    jvm_root = Path("/usr/lib/jvm")
    if jvm_root.is_dir():
        candidates += [str(home) for home in sorted(jvm_root.iterdir(), key=java_version, reverse=True)]
    for candidate in filter(None, candidates):
        home = Path(candidate)
        if java_version(home) >= MIN_JAVA and (home / "bin" / "javac").exists():
            return home
    return None


def platform_dir() -> str:
    machine = {"x86_64": "x64", "amd64": "x64", "aarch64": "aarch64", "arm64": "aarch64"}
    return f"linux-{machine.get(platform.machine().lower(), platform.machine())}"


def find_libzstd() -> Path | None:
    # Without it, native access switches off silently and shards fail in Zstd.compressBound.
    for folder in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"):
        candidate = Path(folder) / "libzstd.so.1"
        if candidate.exists():
            return candidate.resolve()
    return None


def fetch() -> Path:
    """Resolve the jars and assemble ES_HOME's read-only part in the cache once; returns it."""
    home = cache_dir() / "home"
    if (home / READY_MARKER).exists():
        return home
    home.parent.mkdir(parents=True, exist_ok=True)
    # Several test workers may fetch at the same time: one assembles, the others wait for it.
    with open(home.parent / ".home.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (home / READY_MARKER).exists():
            return home
        jdk = find_jdk()
        if jdk is None:
            raise SystemExit(f"no JDK {MIN_JAVA}+ found (set MICROBLOG_ELASTICSEARCH_JAVA_HOME)")
        if shutil.which("mvn") is None:
            raise SystemExit("mvn is not on PATH: install Maven to run a local Elasticsearch")
        libzstd = find_libzstd()
        if libzstd is None:
            raise SystemExit("libzstd.so.1 not found: install the libzstd1 package")
        log(f"resolving Elasticsearch {ES_VERSION} from Maven Central into {home}")
        started = time.monotonic()
        staging = Path(tempfile.mkdtemp(prefix="home.", dir=home.parent))
        try:
            assemble(staging, jdk, libzstd)
            (staging / READY_MARKER).write_text(ES_VERSION + "\n")
            if home.exists():
                shutil.rmtree(home)  # a half-assembled folder from an interrupted older fetch
            staging.rename(home)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        log(f"node assembled in {time.monotonic() - started:.1f} s")
    return home


def assemble(home: Path, jdk: Path, libzstd: Path) -> None:
    build = home / "build"
    build.mkdir()
    (build / "pom.xml").write_text(POM)
    jars = build / "jars"
    run(
        [
            "mvn",
            "-q",
            "-B",
            "-Dstyle.color=never",
            "-f",
            str(build / "pom.xml"),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={jars}",
        ],
        "mvn",
    )
    lib, netty = home / "lib", home / "modules" / "transport-netty4"
    for folder in (
        lib / "entitlement-bridge",
        lib / "entitlement-agent",
        lib / "tools" / "ansi-console",
        lib / "platform" / platform_dir(),
        netty,
        home / "launcher",
    ):
        folder.mkdir(parents=True)
    for jar in jars.glob("*.jar"):
        if jar.name.startswith("elasticsearch-entitlement-bridge-"):
            target = lib / "entitlement-bridge"
        elif jar.name.startswith(("netty-", "transport-netty4-", "elasticsearch-ssl-config-")):
            target = netty
        else:
            target = lib
        jar.rename(target / jar.name)
    # The plugin's descriptor and entitlement policy ship inside its jar; the module folder needs them.
    prefix = "META-INF/es-plugins/transport-netty4/"
    with zipfile.ZipFile(next(netty.glob("transport-netty4-*.jar"))) as plugin:
        for name in plugin.namelist():
            if name.startswith(prefix) and not name.endswith("/"):
                (netty / name[len(prefix) :]).write_bytes(plugin.read(name))
    shutil.copyfile(libzstd, lib / "platform" / platform_dir() / "libzstd.so")

    sources = build / "src"
    sources.mkdir()
    for name, text in (
        ("EntitlementAgent", ENTITLEMENT_AGENT),
        ("AnsiConsoleLoader", ANSI_CONSOLE_STUB),
        ("ServerArgsWriter", SERVER_ARGS_WRITER),
    ):
        (sources / f"{name}.java").write_text(text)
    classes = build / "classes"
    run(
        [
            str(jdk / "bin" / "javac"),
            "--release",
            str(MIN_JAVA),
            "-nowarn",
            "-d",
            str(classes),
            "-cp",
            f"{lib}/*",
            *map(str, sorted(sources.glob("*.java"))),
        ],
        "javac",
    )
    (build / "MANIFEST.MF").write_text(
        "Agent-Class: org.elasticsearch.entitlement.agent.EntitlementAgent\n"
        "Can-Redefine-Classes: true\nCan-Retransform-Classes: true\n"
    )
    jar_tool = str(jdk / "bin" / "jar")
    run(
        [
            jar_tool,
            "--create",
            "--file",
            str(lib / "entitlement-agent" / "elasticsearch-entitlement-agent.jar"),
            "--manifest",
            str(build / "MANIFEST.MF"),
            "-C",
            str(classes),
            "org/elasticsearch/entitlement",
        ],
        "jar",
    )
    run(
        [
            jar_tool,
            "--create",
            "--file",
            str(lib / "tools" / "ansi-console" / "ansi-console.jar"),
            "-C",
            str(classes),
            "org/elasticsearch/io",
        ],
        "jar",
    )
    shutil.copyfile(classes / "ServerArgsWriter.class", home / "launcher" / "ServerArgsWriter.class")
    shutil.rmtree(build)


def run(command: list[str], what: str) -> None:
    result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{what} failed ({result.returncode}):\n{result.stdout}{result.stderr}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reachable_by(uid: int, path: Path) -> bool:
    """Can `uid` (not root, no groups) enter every folder down to `path`?"""
    for folder in [path, *path.parents]:
        if not folder.exists():
            continue
        info = folder.stat()
        if not (info.st_mode & 0o001 or (info.st_uid == uid and info.st_mode & 0o100)):
            return False
    return True


def node_dir_for(data_dir: Path, run_as: int | None) -> Path:
    if run_as is None or reachable_by(run_as, data_dir):
        return data_dir
    # nobody cannot enter /root or pytest's private temp folders: put the node where it can.
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"microblog-elasticsearch-{digest}"


def link_tree(source: Path, target: Path) -> None:
    """Mirror the cached jars into a node folder: hard links (free) or copies across file systems."""
    for item in source.rglob("*"):
        destination = target / item.relative_to(source)
        if item.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
        elif not destination.exists():
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(item, destination)
            except OSError:
                shutil.copy2(item, destination)


def prepare_node(cached_home: Path, node: Path, http_port: int, run_as: int | None) -> None:
    node.mkdir(parents=True, exist_ok=True)
    node.chmod(0o755)
    for part in ("lib", "modules", "launcher"):
        link_tree(cached_home / part, node / part)
    for part in ("config", "data", "logs", "tmp"):
        (node / part).mkdir(exist_ok=True)
    settings = {
        "cluster.name": "microblog-local",
        "node.name": "local",
        "discovery.type": "single-node",
        "network.host": "127.0.0.1",
        "http.port": http_port,
        "transport.port": free_port(),
        "path.data": str(node / "data"),
        "path.logs": str(node / "logs"),
        "cluster.routing.allocation.disk.threshold_enabled": False,
        "action.destructive_requires_name": False,  # tests delete their indices by pattern
    }
    (node / "config" / "elasticsearch.yml").write_text(
        "".join(f"{key}: {json.dumps(value)}\n" for key, value in settings.items())
    )
    (node / "config" / "log4j2.properties").write_text(LOG4J2)
    if run_as is not None:
        for part in ("data", "logs", "tmp"):
            for path in [node / part, *(node / part).rglob("*")]:
                os.chown(path, run_as, run_as, follow_symlinks=False)


def write_server_args(jdk: Path, node: Path) -> bytes:
    # The args carry the settings, so they are written again on every start.
    target = node / "server-args"
    run(
        [
            str(jdk / "bin" / "java"),
            "-Xmx64m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-cp",
            f"{node / 'lib'}/*:{node / 'launcher'}",
            "ServerArgsWriter",
            str(node),
            str(target),
        ],
        "writing the server args",
    )
    return target.read_bytes()


def server_command(jdk: Path, node: Path, heap: str) -> list[str]:
    bridge = next((node / "lib" / "entitlement-bridge").glob("*.jar"))
    return [
        str(jdk / "bin" / "java"),
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        f"-Des.path.home={node}",
        f"-Des.path.conf={node / 'config'}",
        "-Des.distribution.type=tar",
        f"-Djava.io.tmpdir={node / 'tmp'}",
        "-Dfile.encoding=UTF-8",
        "-Djava.locale.providers=CLDR",
        "-Dio.netty.noUnsafe=true",
        "-Dio.netty.noKeySetOptimization=true",
        "-Dio.netty.recycler.maxCapacityPerThread=0",
        "-Dlog4j.shutdownHookEnabled=false",
        "-Dlog4j2.disable.jmx=true",
        "-Dlog4j2.formatMsgNoLookups=true",
        "-XX:-OmitStackTraceInFastThrow",
        "--enable-native-access=org.elasticsearch.nativeaccess,org.elasticsearch.foreign,org.apache.lucene.core",
        "-Dorg.elasticsearch.nativeaccess.enableVectorLibrary=false",  # no libvec.so is published
        "-Des.entitlements.enabled=true",
        "-XX:+EnableDynamicAgentLoading",
        "-Djdk.attach.allowAttachSelf=true",
        f"--patch-module=java.base={bridge}",
        "--add-exports=java.base/org.elasticsearch.entitlement.bridge="
        "org.elasticsearch.entitlement,java.logging,java.net.http,java.naming,jdk.net",
        f"--module-path={node / 'lib'}",
        "--add-modules=jdk.net",
        "--add-modules=jdk.management.agent",
        "--add-modules=ALL-MODULE-PATH",
        "-m",
        "org.elasticsearch.server/org.elasticsearch.bootstrap.Elasticsearch",
    ]


def die_with_parent() -> None:
    """preexec_fn (runs after the uid change, which would clear it): die when the launcher dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def cluster_is_up(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_cluster/health?wait_for_status=yellow&timeout=1s", timeout=3) as reply:
            return json.load(reply).get("status") in ("green", "yellow")
    except (OSError, ValueError):
        return False


class Launcher:
    def __init__(self, data_dir: Path, port: int | None, heap: str, watch_stdin: bool, ephemeral: bool) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.port = port or free_port()
        self.heap = heap
        self.watch_stdin = watch_stdin
        self.ephemeral = ephemeral
        self.run_as = NOBODY if os.geteuid() == 0 else None
        self.node = node_dir_for(self.data_dir, self.run_as)
        self.stopping = threading.Event()
        self.process: subprocess.Popen[bytes] | None = None

    def request_stop(self, *_args) -> None:
        self.stopping.set()

    def run(self, timeout: float) -> int:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        if self.watch_stdin:
            threading.Thread(target=self._stop_on_stdin_eof, daemon=True).start()
        try:
            return self._serve(timeout)
        finally:
            self._stop_jvm()
            if self.ephemeral and self.node != self.data_dir:
                shutil.rmtree(self.node, ignore_errors=True)

    def _stop_on_stdin_eof(self) -> None:
        # The parent holds our stdin open; EOF means it died, however it died.
        try:
            while os.read(sys.stdin.fileno(), 4096):
                pass
        except OSError:
            pass
        self.stopping.set()

    def _serve(self, timeout: float) -> int:
        cached_home = fetch()
        jdk = find_jdk()
        if jdk is None:
            raise SystemExit(f"no JDK {MIN_JAVA}+ found (set MICROBLOG_ELASTICSEARCH_JAVA_HOME)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        prepare_node(cached_home, self.node, self.port, self.run_as)
        if self.node != self.data_dir:
            log(f"the node runs as uid {self.run_as} from {self.node}")
        server_args = write_server_args(jdk, self.node)
        url = f"http://127.0.0.1:{self.port}"
        console = self.data_dir / "elasticsearch.out"
        started = time.monotonic()
        with open(console, "ab") as out:
            self.process = subprocess.Popen(
                server_command(jdk, self.node, self.heap),
                cwd=self.node,
                env={**os.environ, "LIBFFI_TMPDIR": str(self.node / "tmp")},
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=subprocess.STDOUT,
                user=self.run_as,
                group=self.run_as,
                extra_groups=[] if self.run_as is not None else None,
                preexec_fn=die_with_parent,
            )
        # The server reads its args from stdin and keeps reading it: EOF would stop it (code 1).
        assert self.process.stdin is not None
        self.process.stdin.write(server_args)
        self.process.stdin.flush()
        while not cluster_is_up(url):
            if self.process.poll() is not None:
                log(f"the node exited with {self.process.returncode}; see {console}")
                return 1
            if self.stopping.is_set():
                return 0
            if time.monotonic() - started > timeout:
                log(f"the node did not answer within {timeout:.0f} s; see {console}")
                return 1
            time.sleep(0.2)
        log(f"node ready in {time.monotonic() - started:.1f} s (pid {self.process.pid}, log {console})")
        print(f"ELASTICSEARCH_URL={url}", flush=True)
        while not self.stopping.wait(0.5):
            if self.process.poll() is not None:
                log(f"the node exited on its own with {self.process.returncode}")
                return 1
        return 0

    def _stop_jvm(self, grace: float = 30.0) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            log("stopping the node")
            try:
                process.stdin.write(ESC)  # the server's own clean shutdown
                process.stdin.flush()
            except OSError:
                process.terminate()
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                log(f"the node did not stop within {grace:.0f} s: killing it")
                process.kill()
                process.wait()
        try:
            process.stdin.close()
        except OSError:
            pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("fetch", help="resolve and assemble the node in the cache (no-op when cached)")
    start = commands.add_parser("start", help="start a node in DIR, print ELASTICSEARCH_URL=")
    start.add_argument("--data-dir", type=Path, required=True)
    start.add_argument("--port", type=int, help="HTTP port on 127.0.0.1 (default: a free one)")
    start.add_argument("--heap", default="512m", help="JVM heap (-Xms and -Xmx)")
    start.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the node")
    start.add_argument("--watch-stdin", action="store_true", help="stop when stdin closes (parent died)")
    start.add_argument("--ephemeral", action="store_true", help="delete the node's folder after it stops")
    run_parser = commands.add_parser("run", help="fetch, then start with a persistent data dir (for humans)")
    run_parser.add_argument(
        "--data-dir", type=Path, default=Path.home() / ".cache" / "microblog" / "elasticsearch-data"
    )
    run_parser.add_argument("--port", type=int, default=9200)
    run_parser.add_argument("--heap", default="512m")
    run_parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args(argv)

    if args.command == "fetch":
        print(fetch())
        return 0
    launcher = Launcher(
        args.data_dir, args.port, args.heap, getattr(args, "watch_stdin", False), getattr(args, "ephemeral", False)
    )
    return launcher.run(args.timeout)


if __name__ == "__main__":
    sys.exit(main())
