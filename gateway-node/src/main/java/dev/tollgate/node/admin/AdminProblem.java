package dev.tollgate.node.admin;

import dev.tollgate.node.proxy.Problem;
import java.util.List;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/**
 * The RFC 9457 problems of the admin API, answered as {@code application/problem+json} in the
 * proxy's style ({@code urn:tollgate:problem:<slug>}, the request id, {@code errors} when a body has
 * several mistakes).
 */
final class AdminProblem {

  private AdminProblem() {}

  static Problem notFound(String path) {
    return new Problem(StatusCodes.NOT_FOUND, "not-found", "Not found", "The admin API has nothing at " + path + ".");
  }

  static Problem methodNotAllowed(String method, String path, List<String> allowed) {
    return new Problem(StatusCodes.METHOD_NOT_ALLOWED, "method-not-allowed", "Method not allowed",
        path + " takes " + String.join(", ", allowed) + ", not " + method + ".");
  }

  static Problem tokenMissing() {
    return new Problem(StatusCodes.UNAUTHORIZED, "unauthorized", "Unauthorized",
        "The admin API needs the header Authorization: Bearer <token>, with a token of tollgate.admin.token or"
            + " tollgate.admin.tokens.");
  }

  static Problem tokenWrong() {
    return new Problem(StatusCodes.UNAUTHORIZED, "unauthorized", "Unauthorized", "The bearer token is not valid.");
  }

  static Problem unknownConsumer(String id) {
    return new Problem(StatusCodes.NOT_FOUND, "unknown-consumer", "No such consumer",
        "There is no consumer '" + id + "', neither in the directory nor in the config file.");
  }

  static Problem unknownKey(String consumerId, String keyId) {
    return new Problem(StatusCodes.NOT_FOUND, "unknown-key", "No such API key",
        "Consumer '" + consumerId + "' has no API key '" + keyId + "'.");
  }

  static Problem consumerExists(String id, String where) {
    return new Problem(StatusCodes.CONFLICT, "consumer-exists", "Consumer exists",
        "A consumer '" + id + "' exists already " + where + ".");
  }

  static Problem configConsumer(String id) {
    return new Problem(StatusCodes.CONFLICT, "config-consumer", "Consumer declared in the config file",
        "Consumer '" + id + "' is declared in the config file, which the admin API does not change: edit it there,"
            + " along with its API keys.");
  }

  static Problem invalid(String what, List<String> errors) {
    return new Problem(StatusCodes.BAD_REQUEST, "invalid-body", "Invalid request body",
        "The " + what + " has " + (errors.size() == 1 ? "1 error" : errors.size() + " errors") + ": see errors.", errors);
  }

  static Problem badJson(String why) {
    return new Problem(StatusCodes.BAD_REQUEST, "bad-json", "Malformed JSON", "The body is not valid JSON: " + why);
  }

  static Problem unsupportedMediaType(String given) {
    return new Problem(StatusCodes.UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Unsupported media type",
        "The body must be application/json, not " + given + ".");
  }

  static Problem bodyTooLarge(long limit) {
    return new Problem(StatusCodes.PAYLOAD_TOO_LARGE, "body-too-large", "Request body too large",
        "Admin request bodies are limited to " + limit + " bytes.");
  }

  static Problem directoryUnavailable(String why) {
    return new Problem(StatusCodes.SERVICE_UNAVAILABLE, "directory-unavailable", "Consumer directory unavailable",
        why);
  }

  static Problem internal() {
    return new Problem(StatusCodes.INTERNAL_SERVER_ERROR, "internal-error", "Internal error",
        "The admin API failed on this request; the node's log has the cause.");
  }

  static Problem noConfig() {
    return new Problem(StatusCodes.NOT_FOUND, "no-config", "No config applied",
        "The cluster's config store holds no version yet.");
  }

  static Problem invalidConfig(List<String> errors) {
    return new Problem(StatusCodes.BAD_REQUEST, "invalid-config", "Invalid config",
        "The config has " + (errors.size() == 1 ? "1 error" : errors.size() + " errors")
            + ": see errors. Nothing was applied.", errors);
  }

  static Problem unknownVersion(String reason) {
    return new Problem(StatusCodes.NOT_FOUND, "unknown-version", "No such config version", "Nothing was applied: " + reason + ".");
  }

  static Problem unsupportedConfigType(String given) {
    return new Problem(StatusCodes.UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Unsupported media type",
        "A config must be sent as application/yaml or application/json, not " + given + ".");
  }

  static Problem quotaUnavailable(String consumer, List<String> entities, String timeout) {
    return new Problem(StatusCodes.SERVICE_UNAVAILABLE, "quota-unavailable", "Quota entity unavailable",
        "The quota " + (entities.size() == 1 ? "entity " : "entities ") + String.join(", ", entities) + " of consumer '"
            + consumer + "' did not answer within " + timeout + " (its shard may be moving to another node, or its node"
            + " be unreachable); nothing was changed.");
  }

  static Problem noCluster() {
    return new Problem(StatusCodes.SERVICE_UNAVAILABLE, "cluster-unavailable", "Cluster unavailable",
        "This admin API runs without a cluster to show.");
  }

  static Problem configStoreUnavailable(String why) {
    return new Problem(StatusCodes.SERVICE_UNAVAILABLE, "config-store-unavailable", "Config store unavailable", why);
  }

  static Problem unknownUpstream(String name) {
    return new Problem(StatusCodes.NOT_FOUND, "unknown-upstream", "No such upstream",
        "The config in service has no upstream '" + name + "'.");
  }

  static Problem unknownTarget(String upstream, String target) {
    return new Problem(StatusCodes.NOT_FOUND, "unknown-target", "No such target",
        "Upstream '" + upstream + "' has no target '" + target + "' in the config in service (targets are named"
            + " host:port).");
  }

  static Problem noUpstreams() {
    return new Problem(StatusCodes.SERVICE_UNAVAILABLE, "upstreams-unavailable", "Upstreams unavailable",
        "This admin API runs without a proxy whose upstreams it could show.");
  }

  static Problem guardUnavailable(String id, String why) {
    return new Problem(StatusCodes.SERVICE_UNAVAILABLE, "guard-unavailable", "Upstream guard unavailable",
        "The guard of target " + id + " did not answer (" + why + "; its shard may be moving to another node);"
            + " its breaker may not have changed.");
  }
}
