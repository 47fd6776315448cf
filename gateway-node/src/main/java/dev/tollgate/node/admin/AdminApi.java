package dev.tollgate.node.admin;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.hazelcast.core.HazelcastException;
import com.hazelcast.core.HazelcastInstanceNotActiveException;
import dev.tollgate.cluster.config.ConfigStore;
import dev.tollgate.cluster.directory.CredentialDirectory;
import dev.tollgate.cluster.directory.DirectoryConsumer;
import dev.tollgate.cluster.directory.DirectoryUnavailableException;
import dev.tollgate.config.Consumer;
import dev.tollgate.config.GatewayConfig;
import dev.tollgate.config.NodeSettings;
import dev.tollgate.config.Plan;
import dev.tollgate.node.proxy.Problem;
import dev.tollgate.node.proxy.RequestIds;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaType;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.stream.Materializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API's endpoints: consumers and API keys of the cluster's {@link CredentialDirectory},
 * with the config file's consumers visible but read-only; the cluster's config; this node's view of
 * the cluster ({@link ClusterView}); a consumer's usage of its limits ({@link ConsumerUsage}). Every
 * answer is JSON, every error problem+json. Directory calls block (a change is stored in the
 * database before it returns), so they run on the blocking executor, never on the HTTP server's
 * threads.
 *
 * <p>An id may name a directory consumer and a config file consumer at once (the file gained it
 * later): the admin API then acts on the directory's, which it alone can change.
 */
final class AdminApi {

  static final long MAX_BODY_BYTES = 64 << 10;
  private static final Duration BODY_TIMEOUT = Duration.ofSeconds(10);
  private static final String REALM_CHALLENGE = "Bearer realm=\"tollgate-admin\"";
  private static final String RETRY_AFTER_SECONDS = "5";

  private static final Logger log = LoggerFactory.getLogger(AdminApi.class);
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  /** Declarative config documents are larger than consumer bodies. */
  static final long MAX_CONFIG_BYTES = 4L << 20;
  private static final Duration STORE_TIMEOUT = Duration.ofSeconds(10);

  private final Optional<AdminTokens> tokens;
  private final Optional<org.apache.pekko.actor.typed.ActorRef<ConfigStore.Command>> store;
  private final org.apache.pekko.actor.typed.Scheduler scheduler;
  private final Supplier<GatewayConfig> config;
  private final Optional<CredentialDirectory> directory;
  private final Executor blocking;
  private final Materializer mat;
  private final String requestIdHeader;
  private final Optional<ClusterAccess> cluster;
  private final Optional<UpstreamsView> upstreams;

  /**
   * What the admin API reads from the Pekko cluster: its membership and shards, and the quota
   * entities; and how long it waits for their answers.
   */
  record ClusterAccess(org.apache.pekko.actor.typed.ActorSystem<?> system, dev.tollgate.cluster.quota.QuotaUsage quota,
      Duration timeout) {

    ClusterAccess {
      Objects.requireNonNull(system, "system");
      Objects.requireNonNull(quota, "quota");
      Objects.requireNonNull(timeout, "timeout");
    }
  }

  /**
   * @param tokens the tokens requests must carry one of; empty for none
   * @param config the node's current declarative config (its plans and its consumers)
   * @param directory the node's directory; empty when it did not start, and then changes get 503
   * @param blocking where directory calls run
   * @param cluster the cluster to show and the quota entities to read; empty when there is none
   *     (then {@code /cluster} and usage answer 503)
   * @param upstreams the proxy's upstreams and their guards; empty when there is no proxy (then
   *     {@code /upstreams} answers 503)
   */
  AdminApi(Optional<AdminTokens> tokens, Supplier<GatewayConfig> config, Optional<CredentialDirectory> directory,
      Optional<org.apache.pekko.actor.typed.ActorRef<ConfigStore.Command>> store, org.apache.pekko.actor.typed.Scheduler scheduler,
      Executor blocking, Materializer mat, String requestIdHeader, Optional<ClusterAccess> cluster,
      Optional<UpstreamsView> upstreams) {
    this.tokens = Objects.requireNonNull(tokens, "tokens");
    this.upstreams = Objects.requireNonNull(upstreams, "upstreams");
    this.cluster = Objects.requireNonNull(cluster, "cluster");
    this.store = Objects.requireNonNull(store, "store");
    this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
    this.config = Objects.requireNonNull(config, "config");
    this.directory = Objects.requireNonNull(directory, "directory");
    this.blocking = Objects.requireNonNull(blocking, "blocking");
    this.mat = Objects.requireNonNull(mat, "mat");
    this.requestIdHeader = Objects.requireNonNull(requestIdHeader, "requestIdHeader");
  }

  /** One request: its id and path, for the answers' bodies and headers. */
  private final class Exchange {
    final HttpRequest request;
    final String path;
    final String requestId = RequestIds.newId();
    /** Who the config history says applied a version through this request: the token's name. */
    String by = NodeSettings.Admin.NO_TOKEN_NAME;

    Exchange(HttpRequest request) {
      this.request = request;
      this.path = request.getUri().path();
    }

    HttpResponse problem(Problem problem) {
      return problem.toResponse(requestIdHeader, requestId, path);
    }

    HttpResponse json(StatusCode status, JsonNode body) {
      try {
        return HttpResponse.create().withStatus(status)
            .withEntity(ContentTypes.APPLICATION_JSON, JSON.writeValueAsString(body))
            .addHeader(RawHeader.create(requestIdHeader, requestId));
      } catch (JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
    }

    HttpResponse noContent() {
      return HttpResponse.create().withStatus(StatusCodes.NO_CONTENT)
          .addHeader(RawHeader.create(requestIdHeader, requestId));
    }

    HttpResponse unavailable(String why) {
      return problem(AdminProblem.directoryUnavailable(why)).addHeader(RawHeader.create("Retry-After", RETRY_AFTER_SECONDS));
    }
  }

  CompletionStage<HttpResponse> handle(HttpRequest request) {
    Exchange ex = new Exchange(request);
    try {
      return route(ex).exceptionally(e -> failed(ex, e));
    } catch (RuntimeException e) {
      return done(failed(ex, e));
    }
  }

  private HttpResponse failed(Exchange ex, Throwable e) {
    log.error("Admin request {} {} ({}) failed", ex.request.method().name(), ex.path, ex.requestId, unwrap(e));
    return ex.problem(AdminProblem.internal());
  }

  private CompletionStage<HttpResponse> route(Exchange ex) {
    HttpRequest request = ex.request;
    if (tokens.isPresent()) {
      AdminTokens.Check check = tokens.get().check(request.getHeader("Authorization").map(h -> h.value()));
      if (check.verdict() != AdminTokens.Verdict.ACCEPTED) {
        request.discardEntityBytes(mat);
        Problem problem = check.verdict() == AdminTokens.Verdict.MISSING ? AdminProblem.tokenMissing() : AdminProblem.tokenWrong();
        return done(ex.problem(problem).addHeader(RawHeader.create("WWW-Authenticate", REALM_CHALLENGE)));
      }
      ex.by = check.name().orElseThrow();
    }
    String method = request.method().name();
    List<String> s = segments(ex.path);
    if (!s.isEmpty() && s.get(0).equals("config")) {
      return config(ex, s, method);
    }
    if (!s.isEmpty() && s.get(0).equals("upstreams")) {
      return upstreams(ex, s, method);
    }
    if (s.size() == 1 && s.get(0).equals("cluster")) {
      return method.equals("GET") ? discardThen(ex, () -> cluster(ex)) : notAllowed(ex, "GET");
    }
    if (s.size() == 3 && s.get(0).equals("consumers") && s.get(2).equals("usage") && !s.get(1).isEmpty()) {
      return method.equals("GET") ? discardThen(ex, () -> usage(ex, s.get(1))) : notAllowed(ex, "GET");
    }
    if (s.isEmpty() || !s.get(0).equals("consumers") || s.size() > 4 || (s.size() >= 3 && !s.get(2).equals("keys"))
        || s.stream().skip(1).anyMatch(String::isEmpty)) {
      request.discardEntityBytes(mat);
      return done(ex.problem(AdminProblem.notFound(ex.path)));
    }
    switch (s.size()) {
      case 1:
        if (method.equals("POST")) {
          return withBody(ex, body -> create(ex, body));
        }
        return notAllowed(ex, "POST");
      case 2:
        String id = s.get(1);
        switch (method) {
          case "GET":
            return discardThen(ex, () -> get(ex, id));
          case "PUT":
            return withBody(ex, body -> replace(ex, id, body));
          case "DELETE":
            return discardThen(ex, () -> delete(ex, id));
          default:
            return notAllowed(ex, "GET", "PUT", "DELETE");
        }
      case 3:
        switch (method) {
          case "GET":
            return discardThen(ex, () -> keys(ex, s.get(1)));
          case "POST":
            return withBody(ex, body -> issueKey(ex, s.get(1), body));
          default:
            return notAllowed(ex, "GET", "POST");
        }
      default:
        switch (method) {
          case "GET":
            return discardThen(ex, () -> key(ex, s.get(1), s.get(3)));
          case "DELETE":
            return discardThen(ex, () -> revokeKey(ex, s.get(1), s.get(3)));
          default:
            return notAllowed(ex, "GET", "DELETE");
        }
    }
  }

  /** /config, /config/versions, /config/rollback/{version}: the cluster's declarative config. */
  private CompletionStage<HttpResponse> config(Exchange ex, List<String> s, String method) {
    if (s.size() == 1) {
      switch (method) {
        case "GET":
          return discardThen(ex, () -> askStore(ex, ConfigStore.GetCurrent::new, current -> current.version()
              .map(v -> ex.json(StatusCodes.OK, versionJson(v.info()).put("document", v.document())))
              .orElseGet(() -> ex.problem(AdminProblem.noConfig()))));
        case "PUT":
          return withText(ex, text -> putConfig(ex, text,
              ex.request.getUri().query().get("dry_run").map(v -> v.equals("true")).orElse(false)));
        default:
          return notAllowed(ex, "GET", "PUT");
      }
    }
    if (s.size() == 2 && s.get(1).equals("versions")) {
      if (!method.equals("GET")) {
        return notAllowed(ex, "GET");
      }
      return discardThen(ex, () -> askStore(ex, ConfigStore.GetHistory::new, history -> {
        ArrayNode list = JSON.createArrayNode();
        history.versions().forEach(v -> list.add(versionJson(v)));
        return ex.json(StatusCodes.OK, list);
      }));
    }
    if (s.size() == 3 && s.get(1).equals("rollback") && s.get(2).matches("[1-9][0-9]{0,17}")) {
      if (!method.equals("POST")) {
        return notAllowed(ex, "POST");
      }
      long version = Long.parseLong(s.get(2));
      return discardThen(ex, () -> this.<ConfigStore.Reply>askStore(ex, r -> new ConfigStore.Rollback(version, ex.by, r), reply -> {
        if (reply instanceof ConfigStore.Refused refused) {
          return ex.problem(AdminProblem.unknownVersion(refused.reason()));
        }
        return storedJson(ex, reply);
      }));
    }
    ex.request.discardEntityBytes(mat);
    return done(ex.problem(AdminProblem.notFound(ex.path)));
  }

  // PUT /config
  private CompletionStage<HttpResponse> putConfig(Exchange ex, String document, boolean dryRun) {
    GatewayConfig parsed;
    try {
      parsed = dev.tollgate.config.ConfigLoader.parse(document, "PUT /config");
    } catch (dev.tollgate.config.ConfigException e) {
      return done(ex.problem(AdminProblem.invalidConfig(e.errors().stream().map(Object::toString).toList())));
    }
    if (dryRun) {
      return done(ex.json(StatusCodes.OK, JSON.createObjectNode().put("valid", true)
          .put("digest", ConfigStore.digest(document)).put("routes", parsed.routes().size())
          .put("upstreams", parsed.upstreams().size())));
    }
    return this.<ConfigStore.Reply>askStore(ex, r -> new ConfigStore.Apply(document, ex.by, r), reply -> storedJson(ex, reply));
  }

  private HttpResponse storedJson(Exchange ex, ConfigStore.Reply reply) {
    if (reply instanceof ConfigStore.Applied applied) {
      log.info("Admin {}: config version {} applied by {} ({})", ex.requestId, applied.version().version(), ex.by,
          applied.version().rollbackOf() == 0 ? "a new document" : "the document of version " + applied.version().rollbackOf());
      return ex.json(StatusCodes.OK, versionJson(applied.version().info()).put("changed", true));
    }
    if (reply instanceof ConfigStore.Unchanged unchanged) {
      return ex.json(StatusCodes.OK, versionJson(unchanged.current().info()).put("changed", false));
    }
    throw new IllegalStateException("unexpected reply " + reply);
  }

  private static ObjectNode versionJson(ConfigStore.VersionInfo v) {
    ObjectNode json = JSON.createObjectNode().put("version", v.version())
        .put("applied_at", Instant.ofEpochMilli(v.appliedAtMillis()).toString())
        .put("digest", v.digest()).put("applied_by", v.appliedBy());
    if (v.rollbackOf() > 0) {
      json.put("rollback_of", v.rollbackOf());
    }
    return json;
  }

  /** Asks the config store; without one, or when it does not answer, the caller gets 503. */
  private <T> CompletionStage<HttpResponse> askStore(Exchange ex,
      org.apache.pekko.japi.function.Function<org.apache.pekko.actor.typed.ActorRef<T>, ConfigStore.Command> command,
      Function<T, HttpResponse> answer) {
    if (store.isEmpty()) {
      return done(ex.problem(AdminProblem.configStoreUnavailable("This node serves a config given to it directly,"
          + " not the cluster's config store.")).addHeader(RawHeader.create("Retry-After", RETRY_AFTER_SECONDS)));
    }
    return org.apache.pekko.actor.typed.javadsl.AskPattern.ask(store.get(), command, STORE_TIMEOUT, scheduler)
        .thenApply(answer)
        .exceptionally(e -> {
          log.warn("Admin {} {} ({}): the config store did not answer: {}", ex.request.method().name(), ex.path,
              ex.requestId, unwrap(e).toString());
          return ex.problem(AdminProblem.configStoreUnavailable("The cluster's config store did not answer within "
              + STORE_TIMEOUT.toSeconds() + " s.")).addHeader(RawHeader.create("Retry-After", RETRY_AFTER_SECONDS));
        });
  }

  /** Reads a YAML or JSON body whole, up to {@link #MAX_CONFIG_BYTES}, as UTF-8 text. */
  private CompletionStage<HttpResponse> withText(Exchange ex, Function<String, CompletionStage<HttpResponse>> next) {
    MediaType media = ex.request.entity().getContentType().mediaType();
    String sub = media.subType();
    boolean accepted = (media.mainType().equals("application") || media.mainType().equals("text"))
        && (sub.equals("yaml") || sub.equals("x-yaml") || sub.equals("json") || sub.endsWith("+json"));
    if (!accepted) {
      ex.request.discardEntityBytes(mat);
      return done(ex.problem(AdminProblem.unsupportedConfigType(media.toString())));
    }
    return readWhole(ex, MAX_CONFIG_BYTES, strict -> next.apply(strict.getData().utf8String()));
  }

  // GET /cluster
  /**
   * {@code GET /upstreams}, {@code GET /upstreams/{name}}, and {@code POST} (force open) or {@code
   * DELETE} (release) {@code /upstreams/{name}/targets/{host:port}/forced-open}.
   */
  private CompletionStage<HttpResponse> upstreams(Exchange ex, List<String> s, String method) {
    boolean forced = s.size() == 5 && s.get(2).equals("targets") && s.get(4).equals("forced-open");
    if (!(s.size() <= 2 || forced) || s.stream().anyMatch(String::isEmpty)) {
      ex.request.discardEntityBytes(mat);
      return done(ex.problem(AdminProblem.notFound(ex.path)));
    }
    if (forced ? !(method.equals("POST") || method.equals("DELETE")) : !method.equals("GET")) {
      return forced ? notAllowed(ex, "POST", "DELETE") : notAllowed(ex, "GET");
    }
    return discardThen(ex, () -> {
      if (upstreams.isEmpty()) {
        return done(ex.problem(AdminProblem.noUpstreams()));
      }
      UpstreamsView view = upstreams.get();
      if (s.size() == 1) {
        return done(ex.json(StatusCodes.OK, view.all()));
      }
      String name = s.get(1);
      if (!forced) {
        return done(view.one(name).map(json -> ex.json(StatusCodes.OK, json))
            .orElseGet(() -> ex.problem(AdminProblem.unknownUpstream(name))));
      }
      if (!view.hasUpstream(name)) {
        return done(ex.problem(AdminProblem.unknownUpstream(name)));
      }
      Optional<String> id = view.targetId(name, s.get(3));
      if (id.isEmpty()) {
        return done(ex.problem(AdminProblem.unknownTarget(name, s.get(3))));
      }
      boolean open = method.equals("POST");
      log.info("Admin {} {} ({}): {} by {}", method, ex.path, ex.requestId, open ? "force open" : "release", ex.by);
      return view.board().force(id.get(), open, ex.by)
          .thenApply(status -> ex.json(StatusCodes.OK, UpstreamsView.statusJson(status)))
          .exceptionally(e -> {
            log.warn("Admin {} {} ({}): the guard did not answer: {}", method, ex.path, ex.requestId, unwrap(e).toString());
            return ex.problem(AdminProblem.guardUnavailable(id.get(), unwrap(e).getClass().getSimpleName()))
                .addHeader(RawHeader.create("Retry-After", "2"));
          });
    });
  }

  private CompletionStage<HttpResponse> cluster(Exchange ex) {
    if (cluster.isEmpty()) {
      return done(ex.problem(AdminProblem.noCluster()));
    }
    ClusterAccess c = cluster.get();
    return new ClusterView(c.system(), c.timeout()).read().thenApply(json -> ex.json(StatusCodes.OK, json));
  }

  // GET /consumers/{id}/usage
  private CompletionStage<HttpResponse> usage(Exchange ex, String id) {
    if (cluster.isEmpty()) {
      return done(ex.problem(AdminProblem.noCluster()));
    }
    Optional<Consumer> fromFile = configConsumer(id);
    if (directory.isEmpty() && fromFile.isPresent()) {
      return usageOf(ex, found(fromFile.get()));
    }
    return readDirectory(ex, d -> d.consumer(id)
            .map(c -> new ConsumerUsage.Found(c.id(), c.plan(), c.groups(), "directory"))
            .or(() -> fromFile.map(AdminApi::found)),
        found -> found.map(f -> usageOf(ex, f)).orElseGet(() -> done(ex.problem(AdminProblem.unknownConsumer(id)))));
  }

  private CompletionStage<HttpResponse> usageOf(Exchange ex, ConsumerUsage.Found consumer) {
    ClusterAccess c = cluster.orElseThrow();
    return new ConsumerUsage(c.quota(), c.timeout(), java.time.Clock.systemUTC()).read(config.get(), consumer)
        .thenApply(read -> {
          if (read.json() != null) {
            return ex.json(StatusCodes.OK, read.json());
          }
          log.warn("Admin {} {} ({}): quota entities {} did not answer within {}", ex.request.method().name(), ex.path,
              ex.requestId, read.unanswered(), ClusterView.seconds(c.timeout()));
          return ex.problem(AdminProblem.quotaUnavailable(consumer.id(), read.unanswered(), ClusterView.seconds(c.timeout())))
              .addHeader(RawHeader.create("Retry-After", RETRY_AFTER_SECONDS));
        });
  }

  private static ConsumerUsage.Found found(Consumer c) {
    return new ConsumerUsage.Found(c.id(), c.plan(), c.groups(), "config");
  }

  // POST /consumers
  private CompletionStage<HttpResponse> create(Exchange ex, JsonNode body) {
    ConsumerBody.Read read = ConsumerBody.read(body, Optional.empty(), planNames());
    if (read.consumer().isEmpty()) {
      return done(ex.problem(AdminProblem.invalid("consumer", read.errors())));
    }
    ConsumerBody c = read.consumer().get();
    if (configConsumer(c.id()).isPresent()) {
      return done(ex.problem(AdminProblem.consumerExists(c.id(), "in the config file")));
    }
    return withDirectory(ex, d -> {
      DirectoryConsumer created = new DirectoryConsumer(c.id(), c.plan(), c.groups());
      // One atomic step: of two admins creating the same id at once, one gets 409.
      if (!d.createConsumer(created)) {
        return ex.problem(AdminProblem.consumerExists(c.id(), "in the directory"));
      }
      log.info("Admin {}: consumer {} created (plan {}, groups {})", ex.requestId, c.id(), c.plan().orElse("none"),
          c.groups());
      return ex.json(StatusCodes.CREATED, consumerJson(created.id(), created.plan(), created.groups(), "directory"))
          .addHeader(RawHeader.create("Location", "/consumers/" + c.id()));
    });
  }

  // GET /consumers/{id}
  private CompletionStage<HttpResponse> get(Exchange ex, String id) {
    Optional<Consumer> fromFile = configConsumer(id);
    if (directory.isEmpty() && fromFile.isPresent()) {
      return done(ex.json(StatusCodes.OK, configJson(fromFile.get())));
    }
    return withDirectory(ex, d -> d.consumer(id)
        .map(c -> ex.json(StatusCodes.OK, consumerJson(c.id(), c.plan(), c.groups(), "directory")))
        .or(() -> fromFile.map(c -> ex.json(StatusCodes.OK, configJson(c))))
        .orElseGet(() -> ex.problem(AdminProblem.unknownConsumer(id))));
  }

  // PUT /consumers/{id}
  private CompletionStage<HttpResponse> replace(Exchange ex, String id, JsonNode body) {
    ConsumerBody.Read read = ConsumerBody.read(body, Optional.of(id), planNames());
    if (read.consumer().isEmpty()) {
      return done(ex.problem(AdminProblem.invalid("consumer", read.errors())));
    }
    ConsumerBody c = read.consumer().get();
    return withDirectory(ex, d -> {
      DirectoryConsumer replaced = new DirectoryConsumer(id, c.plan(), c.groups());
      if (!d.replaceConsumer(replaced)) {
        return ex.problem(absent(id));
      }
      log.info("Admin {}: consumer {} replaced (plan {}, groups {})", ex.requestId, id, c.plan().orElse("none"),
          c.groups());
      return ex.json(StatusCodes.OK, consumerJson(id, replaced.plan(), replaced.groups(), "directory"));
    });
  }

  // DELETE /consumers/{id}
  private CompletionStage<HttpResponse> delete(Exchange ex, String id) {
    return withDirectory(ex, d -> {
      if (d.consumer(id).isEmpty()) {
        return ex.problem(absent(id));
      }
      int keys = d.keys(id).size();
      if (!d.deleteConsumer(id)) {
        return ex.problem(AdminProblem.unknownConsumer(id));
      }
      log.info("Admin {}: consumer {} deleted, and its {} API key(s) revoked", ex.requestId, id, keys);
      return ex.noContent();
    });
  }

  // POST /consumers/{id}/keys
  private CompletionStage<HttpResponse> issueKey(Exchange ex, String id, JsonNode body) {
    List<String> errors = new ArrayList<>();
    if (!body.isMissingNode() && !body.isObject()) {
      errors.add("(body): " + ConsumerBody.shown(body) + " (expected: no body, or {})");
    }
    for (Iterator<String> names = body.fieldNames(); names.hasNext(); ) {
      errors.add(names.next() + ": unknown field (expected: none; a key is issued with no settings)");
    }
    if (!errors.isEmpty()) {
      return done(ex.problem(AdminProblem.invalid("key request", errors)));
    }
    return withDirectory(ex, d -> {
      if (d.consumer(id).isEmpty()) {
        return ex.problem(absent(id));
      }
      CredentialDirectory.IssuedKey issued;
      try {
        issued = d.issueKey(id);
      } catch (NoSuchElementException deletedMeanwhile) {
        return ex.problem(AdminProblem.unknownConsumer(id));
      }
      log.info("Admin {}: API key {} issued to consumer {}", ex.requestId, issued.keyId(), id);
      ObjectNode json = JSON.createObjectNode()
          .put("key_id", issued.keyId())
          .put("key", issued.key())
          .put("created_at", Instant.ofEpochMilli(issued.createdAtMillis()).toString());
      return ex.json(StatusCodes.CREATED, json)
          .addHeader(RawHeader.create("Location", "/consumers/" + id + "/keys/" + issued.keyId()))
          // The key is shown this once: no cache may keep a copy.
          .addHeader(RawHeader.create("Cache-Control", "no-store"));
    });
  }

  // GET /consumers/{id}/keys
  private CompletionStage<HttpResponse> keys(Exchange ex, String id) {
    return withDirectory(ex, d -> {
      if (d.consumer(id).isEmpty()) {
        return ex.problem(absent(id));
      }
      ArrayNode list = JSON.createArrayNode();
      d.keys(id).forEach(k -> list.add(keyJson(k)));
      return ex.json(StatusCodes.OK, list);
    });
  }

  // GET /consumers/{id}/keys/{keyId}
  private CompletionStage<HttpResponse> key(Exchange ex, String id, String keyId) {
    return withDirectory(ex, d -> {
      if (d.consumer(id).isEmpty()) {
        return ex.problem(absent(id));
      }
      return d.keys(id).stream().filter(k -> k.keyId().equals(keyId)).findFirst()
          .map(k -> ex.json(StatusCodes.OK, keyJson(k)))
          .orElseGet(() -> ex.problem(AdminProblem.unknownKey(id, keyId)));
    });
  }

  // DELETE /consumers/{id}/keys/{keyId}
  private CompletionStage<HttpResponse> revokeKey(Exchange ex, String id, String keyId) {
    return withDirectory(ex, d -> {
      if (d.consumer(id).isEmpty()) {
        return ex.problem(absent(id));
      }
      if (!d.revokeKey(id, keyId)) {
        return ex.problem(AdminProblem.unknownKey(id, keyId));
      }
      log.info("Admin {}: API key {} of consumer {} revoked", ex.requestId, keyId, id);
      return ex.noContent();
    });
  }

  /** Why an id the directory does not hold cannot be changed: the file declares it, or nothing does. */
  private Problem absent(String id) {
    return configConsumer(id).isPresent() ? AdminProblem.configConsumer(id) : AdminProblem.unknownConsumer(id);
  }

  private Optional<Consumer> configConsumer(String id) {
    return config.get().consumers().stream().filter(c -> c.id().equals(id)).findFirst();
  }

  private List<String> planNames() {
    return config.get().plans().stream().map(Plan::name).toList();
  }

  private static ObjectNode consumerJson(String id, Optional<String> plan, List<String> groups, String source) {
    ObjectNode json = JSON.createObjectNode().put("id", id);
    if (plan.isPresent()) {
      json.put("plan", plan.get());
    } else {
      json.putNull("plan");
    }
    ArrayNode g = json.putArray("groups");
    groups.forEach(g::add);
    return json.put("source", source);
  }

  private static ObjectNode configJson(Consumer c) {
    return consumerJson(c.id(), c.plan(), c.groups(), "config");
  }

  private static ObjectNode keyJson(CredentialDirectory.KeyInfo k) {
    return JSON.createObjectNode().put("key_id", k.keyId())
        .put("created_at", Instant.ofEpochMilli(k.createdAtMillis()).toString());
  }

  /**
   * Runs {@code work} against the directory on the blocking executor. Without a directory, or when
   * it cannot answer, the caller gets 503 with {@code Retry-After}.
   */
  private CompletionStage<HttpResponse> withDirectory(Exchange ex, Function<CredentialDirectory, HttpResponse> work) {
    return readDirectory(ex, work, AdminApi::done);
  }

  /** What the directory gave, or the answer to give instead when it could not. */
  private record DirectoryRead<T>(T value, HttpResponse refusal) {}

  /**
   * Runs {@code read} against the directory on the blocking executor and hands its result to {@code
   * then}. Without a directory, or when it cannot answer, the caller gets 503 with {@code Retry-After}.
   */
  private <T> CompletionStage<HttpResponse> readDirectory(Exchange ex, Function<CredentialDirectory, T> read,
      Function<T, CompletionStage<HttpResponse>> then) {
    if (directory.isEmpty()) {
      return done(ex.unavailable("This node's consumer directory did not start (its database could not be reached"
          + " at start-up), so only the config file's consumers are known here; restart the node once the database"
          + " is back, or use another node."));
    }
    return CompletableFuture.supplyAsync(() -> {
      try {
        return new DirectoryRead<T>(read.apply(directory.get()), null);
      } catch (DirectoryUnavailableException | HazelcastException | HazelcastInstanceNotActiveException e) {
        log.warn("Admin {} {} ({}): the directory cannot answer: {}", ex.request.method().name(), ex.path, ex.requestId,
            e.toString());
        return new DirectoryRead<T>(null, ex.unavailable(e instanceof DirectoryUnavailableException
            ? "The consumer directory cannot answer right now: " + sentence(e.getMessage())
            : "The consumer directory cannot answer right now (" + e.getClass().getSimpleName() + ")."));
      }
    }, blocking).thenCompose(r -> r.refusal() != null ? done(r.refusal()) : then.apply(r.value()));
  }

  private CompletionStage<HttpResponse> notAllowed(Exchange ex, String... allowed) {
    ex.request.discardEntityBytes(mat);
    return done(ex.problem(AdminProblem.methodNotAllowed(ex.request.method().name(), ex.path, Arrays.asList(allowed)))
        .addHeader(RawHeader.create("Allow", String.join(", ", allowed))));
  }

  private CompletionStage<HttpResponse> discardThen(Exchange ex, Supplier<CompletionStage<HttpResponse>> next) {
    ex.request.discardEntityBytes(mat);
    return next.get();
  }

  /**
   * Reads the body whole, up to {@link #MAX_BODY_BYTES}, as JSON ({@link MissingNode} when empty),
   * and hands it on; a body too large, not JSON, or of another media type is answered here.
   */
  private CompletionStage<HttpResponse> withBody(Exchange ex, Function<JsonNode, CompletionStage<HttpResponse>> next) {
    return readWhole(ex, MAX_BODY_BYTES, strict -> {
      if (strict.getData().isEmpty()) {
        return next.apply(MissingNode.getInstance());
      }
      MediaType media = strict.getContentType().mediaType();
      boolean json = media.mainType().equals("application")
          && (media.subType().equals("json") || media.subType().endsWith("+json"));
      if (!json) {
        return done(ex.problem(AdminProblem.unsupportedMediaType(media.toString())));
      }
      JsonNode body;
      try {
        body = JSON.readTree(strict.getData().toArray());
      } catch (JsonProcessingException e) {
        return done(ex.problem(AdminProblem.badJson(e.getOriginalMessage() + " at line "
            + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ".")));
      } catch (java.io.IOException e) {
        return done(ex.problem(AdminProblem.badJson(e.getMessage())));
      }
      return next.apply(body);
    });
  }

  /**
   * Reads the body whole, up to {@code maxBytes}, and hands it on; a body too large, or one that
   * did not arrive whole, is answered here.
   */
  private CompletionStage<HttpResponse> readWhole(Exchange ex, long maxBytes,
      Function<HttpEntity.Strict, CompletionStage<HttpResponse>> next) {
    HttpEntity entity = ex.request.entity();
    if (entity.getContentLengthOption().isPresent() && entity.getContentLengthOption().getAsLong() > maxBytes) {
      ex.request.discardEntityBytes(mat);
      return done(ex.problem(AdminProblem.bodyTooLarge(maxBytes)));
    }
    return entity.toStrict(BODY_TIMEOUT.toMillis(), maxBytes, mat)
        .handle((strict, failure) -> {
          if (failure != null) {
            Throwable cause = unwrap(failure);
            return done(cause instanceof EntityStreamSizeException
                ? ex.problem(AdminProblem.bodyTooLarge(maxBytes))
                : ex.problem(AdminProblem.badJson("the body did not arrive whole (" + cause.getClass().getSimpleName() + ").")));
          }
          return next.apply(strict);
        })
        .thenCompose(Function.identity());
  }

  /** The path's segments after the leading slash; "/" has none. */
  static List<String> segments(String path) {
    String p = path.startsWith("/") ? path.substring(1) : path;
    return p.isEmpty() ? List.of() : List.of(p.split("/", -1));
  }

  private static String sentence(String s) {
    return s.endsWith(".") ? s : s + ".";
  }

  private static Throwable unwrap(Throwable e) {
    Throwable t = e;
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  private static CompletionStage<HttpResponse> done(HttpResponse response) {
    return CompletableFuture.completedFuture(response);
  }
}
