package dev.tollgate.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Kubernetes manifests under {@code deploy/kubernetes} agree with the node: every variable the
 * Deployment sets is a setting, and they load without an error into the settings the manifests
 * rely on (bootstrap through the Kubernetes API, the pods' own addresses, the ports the probes and
 * Services name); the routes file is a valid config; and the objects refer to each other by names
 * and labels that exist. No cluster is needed: this reads the files only.
 */
class KubernetesManifestsTest {

  static final Path DIR = Path.of("../deploy/kubernetes");
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  static final Map<String, JsonNode> objects = new HashMap<>();
  static JsonNode kustomization;

  @BeforeAll
  static void read() throws IOException {
    kustomization = YAML.readTree(DIR.resolve("kustomization.yaml").toFile());
    for (JsonNode resource : kustomization.get("resources")) {
      try (var docs = YAML.readerFor(JsonNode.class).<JsonNode>readValues(DIR.resolve(resource.asText()).toFile())) {
        while (docs.hasNext()) {
          JsonNode doc = docs.next();
          objects.put(doc.path("kind").asText() + "/" + doc.path("metadata").path("name").asText(), doc);
        }
      }
    }
  }

  static JsonNode object(String kindAndName) {
    assertThat(objects).as("the manifests hold %s", kindAndName).containsKey(kindAndName);
    return objects.get(kindAndName);
  }

  static JsonNode pod() {
    return object("Deployment/tollgate").path("spec").path("template");
  }

  static JsonNode container() {
    return pod().path("spec").path("containers").get(0);
  }

  static Map<String, Integer> containerPorts() {
    Map<String, Integer> ports = new HashMap<>();
    container().path("ports").forEach(p -> ports.put(p.path("name").asText(), p.path("containerPort").asInt()));
    return ports;
  }

  @Test
  void theKustomizationListsEveryFileAndNoObjectNamesANamespace() throws IOException {
    Set<String> listed = new TreeSet<>();
    kustomization.get("resources").forEach(r -> listed.add(r.asText()));
    kustomization.path("configMapGenerator").forEach(g -> g.path("files").forEach(f -> listed.add(f.asText())));
    Set<String> files = new TreeSet<>();
    try (Stream<Path> s = Files.list(DIR)) {
      s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".yaml") && !n.equals("kustomization.yaml"))
          .forEach(files::add);
    }
    assertThat(listed).isEqualTo(files);
    assertThat(objects.keySet()).containsExactlyInAnyOrder("ServiceAccount/tollgate", "Role/tollgate-pod-reader",
        "RoleBinding/tollgate-pod-reader", "Deployment/tollgate", "Service/tollgate", "Service/tollgate-peers",
        "PodDisruptionBudget/tollgate");
    for (Map.Entry<String, JsonNode> o : objects.entrySet()) {
      assertThat(o.getValue().path("apiVersion").asText()).as("%s apiVersion", o.getKey()).isNotEmpty();
      assertThat(o.getValue().path("metadata").has("namespace")).as("%s names no namespace", o.getKey()).isFalse();
    }
  }

  @Test
  void selectorsPortsVolumesAndTheAccountReferToWhatExists() {
    JsonNode deployment = object("Deployment/tollgate");
    JsonNode labels = pod().path("metadata").path("labels");
    assertThat(deployment.path("spec").path("replicas").asInt()).isEqualTo(3);
    assertThat(deployment.path("spec").path("selector").path("matchLabels")).isEqualTo(labels);
    assertThat(object("PodDisruptionBudget/tollgate").path("spec").path("selector").path("matchLabels")).isEqualTo(labels);
    assertThat(object("PodDisruptionBudget/tollgate").path("spec").path("maxUnavailable").asInt()).isEqualTo(1);
    for (String service : List.of("Service/tollgate", "Service/tollgate-peers")) {
      assertThat(object(service).path("spec").path("selector")).as(service).isEqualTo(labels);
      object(service).path("spec").path("ports").forEach(p ->
          assertThat(containerPorts()).as("%s targets a container port", service).containsKey(p.path("targetPort").asText()));
    }
    assertThat(object("Service/tollgate-peers").path("spec").path("clusterIP").asText()).isEqualTo("None");
    assertThat(object("Service/tollgate-peers").path("spec").path("publishNotReadyAddresses").asBoolean()).isTrue();

    for (String probe : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
      assertThat(container().path(probe).path("httpGet").path("port").asText()).as(probe).isEqualTo("management");
    }
    assertThat(container().path("readinessProbe").path("httpGet").path("path").asText()).isEqualTo("/ready");
    assertThat(container().path("livenessProbe").path("httpGet").path("path").asText()).isEqualTo("/alive");

    Set<String> volumes = new HashSet<>();
    pod().path("spec").path("volumes").forEach(v -> volumes.add(v.path("name").asText()));
    container().path("volumeMounts").forEach(m -> assertThat(volumes).contains(m.path("name").asText()));
    String configMap = kustomization.path("configMapGenerator").get(0).path("name").asText();
    assertThat(pod().path("spec").path("volumes").findValues("configMap")).singleElement()
        .satisfies(c -> assertThat(c.path("name").asText()).isEqualTo(configMap));

    assertThat(pod().path("spec").path("serviceAccountName").asText()).isEqualTo("tollgate");
    JsonNode binding = object("RoleBinding/tollgate-pod-reader");
    assertThat(binding.path("subjects").get(0).path("name").asText()).isEqualTo("tollgate");
    assertThat(binding.path("roleRef").path("name").asText()).isEqualTo("tollgate-pod-reader");
    JsonNode rule = object("Role/tollgate-pod-reader").path("rules").get(0);
    assertThat(rule.path("resources").toString()).isEqualTo("[\"pods\"]");
    assertThat(rule.path("verbs").toString()).contains("\"list\"");
  }

  /**
   * The Deployment's variables as a pod would see them: field and secret references replaced by
   * sample values, {@code $(NAME)} expanded from the variables before it.
   */
  static Map<String, String> podEnvironment() {
    Map<String, String> env = new HashMap<>();
    Map<String, String> fields = Map.of("status.podIP", "10.244.1.7", "metadata.namespace", "edge");
    Pattern reference = Pattern.compile("\\$\\(([A-Z0-9_]+)\\)");
    for (JsonNode e : container().path("env")) {
      String value;
      if (e.has("value")) {
        Matcher m = reference.matcher(e.path("value").asText());
        StringBuilder expanded = new StringBuilder();
        while (m.find()) {
          assertThat(env).as("%s refers to a variable set before it", e.path("name").asText()).containsKey(m.group(1));
          m.appendReplacement(expanded, Matcher.quoteReplacement(env.get(m.group(1))));
        }
        value = m.appendTail(expanded).toString();
      } else if (e.path("valueFrom").has("fieldRef")) {
        value = fields.get(e.path("valueFrom").path("fieldRef").path("fieldPath").asText());
        assertThat(value).as("a sample for %s", e).isNotNull();
      } else {
        String key = e.path("valueFrom").path("secretKeyRef").path("key").asText();
        value = key.equals("url") ? "jdbc:postgresql://db.edge.svc:5432/tollgate" : "secret-" + key;
      }
      env.put(e.path("name").asText(), value);
    }
    return env;
  }

  @Test
  void theDeploymentsVariablesAreSettingsThatLoadIntoAClusterBootstrappedThroughTheKubernetesApi() throws Exception {
    Map<String, String> env = podEnvironment();
    List<String> tollgate = new ArrayList<>(env.keySet().stream().filter(n -> n.startsWith("TOLLGATE_")).toList());
    assertThat(NodeSettingsLoader.environmentVariables().keySet()).as("every TOLLGATE_ variable is a setting")
        .containsAll(tollgate);
    assertThat(NodeSettingsLoader.unknownEnvironmentVariables(env)).isEmpty();

    NodeSettings s = NodeSettingsLoader.load(Optional.empty(), env, new Properties());
    assertThat(s.cluster().discovery()).isEqualTo(NodeSettings.Cluster.Discovery.KUBERNETES_API);
    assertThat(s.cluster().seeds()).isEmpty();
    assertThat(s.cluster().host()).isEqualTo("10.244.1.7");
    assertThat(s.management().host()).isEqualTo("10.244.1.7");
    assertThat(s.directory().serviceDns()).isEqualTo("tollgate-peers.edge.svc");
    assertThat(s.directory().members()).isEmpty();
    assertThat(s.storage().usesPostgres()).isTrue();
    assertThat(s.proxy().host()).isEqualTo("0.0.0.0");
    assertThat(s.metrics().host()).isEqualTo("0.0.0.0");

    // The pod label selector, with the service name filled in, picks the Deployment's pods.
    String selector = s.cluster().bootstrap().podLabelSelector().formatted(s.cluster().bootstrap().serviceName());
    String[] label = selector.split("=", 2);
    assertThat(pod().path("metadata").path("labels").path(label[0]).asText()).isEqualTo(label[1]);

    // The ports the manifests name are the ones the node binds.
    assertThat(containerPorts()).containsExactlyInAnyOrderEntriesOf(Map.of("proxy", s.proxy().port(),
        "management", s.management().port(), "remoting", s.cluster().port(), "directory", s.directory().port(),
        "metrics", s.metrics().port()));
    JsonNode annotations = pod().path("metadata").path("annotations");
    assertThat(annotations.path("prometheus.io/port").asText()).isEqualTo(String.valueOf(s.metrics().port()));
    assertThat(annotations.path("prometheus.io/path").asText()).isEqualTo("/metrics");

    // Kubernetes kills the pod only after the node's own stop had time to finish.
    Duration stop = s.management().readyDelay().plus(s.shutdownGrace());
    assertThat(Duration.ofSeconds(pod().path("spec").path("terminationGracePeriodSeconds").asLong()))
        .isGreaterThan(stop.plusSeconds(20));
  }

  @Test
  void theRoutesFileIsAValidConfig() throws Exception {
    String file = kustomization.path("configMapGenerator").get(0).path("files").get(0).asText();
    GatewayConfig config = ConfigLoader.load(DIR.resolve(file));
    assertThat(config.routes()).isNotEmpty();
  }
}
