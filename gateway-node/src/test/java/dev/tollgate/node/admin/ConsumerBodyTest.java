package dev.tollgate.node.admin;

import static dev.tollgate.node.admin.AdminNode.json;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.config.ConfigException;
import dev.tollgate.config.ConfigLoader;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The admin API takes exactly the consumer ids and group names that a config file takes. */
class ConsumerBodyTest {

  static final List<String> SAMPLES = List.of("a", "A1", "acme", "a.b_c@d-e", "0", "a:b", "-a", ".a", "_a", "@a",
      "a b", "a/b", "a\"b", "é", "", "x".repeat(128), "x".repeat(129), "a+b", "a#b");

  @Test
  void idsAreCheckedAsInTheConfigFile() {
    for (String id : SAMPLES) {
      boolean byAdmin = ConsumerBody.read(json("{\"id\": " + quoted(id) + "}"), Optional.empty(), List.of())
          .consumer().isPresent();
      assertThat(byAdmin).as("id %s", id).isEqualTo(configTakes(id, "ok"));
    }
  }

  @Test
  void groupNamesAreCheckedAsInTheConfigFile() {
    for (String group : SAMPLES) {
      boolean byAdmin = ConsumerBody.read(json("{\"id\": \"ok\", \"groups\": [" + quoted(group) + "]}"), Optional.empty(),
          List.of()).consumer().isPresent();
      assertThat(byAdmin).as("group %s", group).isEqualTo(configTakes("ok", group));
    }
  }

  private static boolean configTakes(String id, String group) {
    String yaml = """
        upstreams: [{name: app, targets: [{url: "http://127.0.0.1:9"}]}]
        consumers: [{id: %s, groups: [%s]}]
        routes: [{name: r, match: {paths: [/x]}, upstream: app}]
        """.formatted(quoted(id), quoted(group));
    try {
      ConfigLoader.parse(yaml, "test");
      return true;
    } catch (ConfigException e) {
      return false;
    }
  }

  /** A JSON string, which is also a YAML flow scalar. */
  private static String quoted(String s) {
    return AdminNode.JSON.getNodeFactory().textNode(s).toString();
  }
}
