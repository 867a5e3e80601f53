import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.elasticsearch.bootstrap.ServerArgs;
import org.elasticsearch.common.io.stream.OutputStreamStreamOutput;
import org.elasticsearch.common.settings.KeyStoreWrapper;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.InternalSettingsPreparer;

/**
 * Does what Elasticsearch's own launcher (not published on Maven Central) does before it starts
 * the server: reads ES_HOME/config/elasticsearch.yml and writes the serialized ServerArgs that the
 * server reads from its standard input: the node's settings, an empty keystore, where config and
 * logs are.
 *
 * Usage: java -cp "ES_HOME/lib/*:DIR" ServerArgsWriter ES_HOME OUTPUT_FILE
 */
public final class ServerArgsWriter {
    public static void main(String[] args) throws Exception {
        Path home = Path.of(args[0]).toAbsolutePath();
        Path output = Path.of(args[1]);
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            Settings.EMPTY,
            Map.of("path.home", home.toString()),
            home.resolve("config"),
            () -> System.getenv().getOrDefault("HOSTNAME", "elasticsearch")
        );
        ServerArgs serverArgs = new ServerArgs(
            false,
            false,
            null,
            KeyStoreWrapper.create(),
            environment.settings(),
            environment.configDir(),
            environment.logsDir()
        );
        try (var out = new OutputStreamStreamOutput(Files.newOutputStream(output))) {
            serverArgs.writeTo(out);
        }
    }
}
