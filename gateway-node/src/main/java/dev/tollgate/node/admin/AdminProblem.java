package dev.tollgate.node.admin;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Objects;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/**
 * An RFC 9457 problem detail of the admin API, answered as {@code application/problem+json} in
 * the proxy's style ({@code urn:tollgate:problem:<slug>}, the request id), with one extension: a
 * request with several mistakes lists each in {@code errors}, as {@code field: value (expected: ...)}.
 */
record AdminProblem(StatusCode status, String type, String title, String detail, List<String> errors) {

  private static final JsonFactory JSON = new JsonFactory();

  AdminProblem {
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(title, "title");
    Objects.requireNonNull(detail, "detail");
    errors = List.copyOf(Objects.requireNonNull(errors, "errors"));
  }

  AdminProblem(StatusCode status, String type, String title, String detail) {
    this(status, type, title, detail, List.of());
  }

  static AdminProblem notFound(String path) {
    return new AdminProblem(StatusCodes.NOT_FOUND, "not-found", "Not found", "The admin API has nothing at " + path + ".");
  }

  static AdminProblem methodNotAllowed(String method, String path, List<String> allowed) {
    return new AdminProblem(StatusCodes.METHOD_NOT_ALLOWED, "method-not-allowed", "Method not allowed",
        path + " takes " + String.join(", ", allowed) + ", not " + method + ".");
  }

  static AdminProblem tokenMissing() {
    return new AdminProblem(StatusCodes.UNAUTHORIZED, "unauthorized", "Unauthorized",
        "The admin API needs the header Authorization: Bearer <token>, with the token of tollgate.admin.token.");
  }

  static AdminProblem tokenWrong() {
    return new AdminProblem(StatusCodes.UNAUTHORIZED, "unauthorized", "Unauthorized", "The bearer token is not valid.");
  }

  static AdminProblem unknownConsumer(String id) {
    return new AdminProblem(StatusCodes.NOT_FOUND, "unknown-consumer", "No such consumer",
        "There is no consumer '" + id + "', neither in the directory nor in the config file.");
  }

  static AdminProblem unknownKey(String consumerId, String keyId) {
    return new AdminProblem(StatusCodes.NOT_FOUND, "unknown-key", "No such API key",
        "Consumer '" + consumerId + "' has no API key '" + keyId + "'.");
  }

  static AdminProblem consumerExists(String id, String where) {
    return new AdminProblem(StatusCodes.CONFLICT, "consumer-exists", "Consumer exists",
        "A consumer '" + id + "' exists already " + where + ".");
  }

  static AdminProblem configConsumer(String id) {
    return new AdminProblem(StatusCodes.CONFLICT, "config-consumer", "Consumer declared in the config file",
        "Consumer '" + id + "' is declared in the config file, which the admin API does not change: edit it there,"
            + " along with its API keys.");
  }

  static AdminProblem invalid(String what, List<String> errors) {
    return new AdminProblem(StatusCodes.BAD_REQUEST, "invalid-body", "Invalid request body",
        "The " + what + " has " + (errors.size() == 1 ? "1 error" : errors.size() + " errors") + ": see errors.", errors);
  }

  static AdminProblem badJson(String why) {
    return new AdminProblem(StatusCodes.BAD_REQUEST, "bad-json", "Malformed JSON", "The body is not valid JSON: " + why);
  }

  static AdminProblem unsupportedMediaType(String given) {
    return new AdminProblem(StatusCodes.UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Unsupported media type",
        "The body must be application/json, not " + given + ".");
  }

  static AdminProblem bodyTooLarge(long limit) {
    return new AdminProblem(StatusCodes.PAYLOAD_TOO_LARGE, "body-too-large", "Request body too large",
        "Admin request bodies are limited to " + limit + " bytes.");
  }

  static AdminProblem directoryUnavailable(String why) {
    return new AdminProblem(StatusCodes.SERVICE_UNAVAILABLE, "directory-unavailable", "Consumer directory unavailable",
        why);
  }

  static AdminProblem internal() {
    return new AdminProblem(StatusCodes.INTERNAL_SERVER_ERROR, "internal-error", "Internal error",
        "The admin API failed on this request; the node's log has the cause.");
  }

  String toJson(String requestId, String instance) {
    StringWriter out = new StringWriter(256);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("type", "urn:tollgate:problem:" + type);
      g.writeStringField("title", title);
      g.writeNumberField("status", status.intValue());
      g.writeStringField("detail", detail);
      if (!errors.isEmpty()) {
        g.writeArrayFieldStart("errors");
        for (String e : errors) {
          g.writeString(e);
        }
        g.writeEndArray();
      }
      g.writeStringField("instance", instance);
      g.writeStringField("request_id", requestId);
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  HttpResponse toResponse(String requestIdHeader, String requestId, String instance) {
    return HttpResponse.create()
        .withStatus(status)
        .withEntity(dev.tollgate.node.proxy.Problem.PROBLEM_JSON, toJson(requestId, instance))
        .addHeader(RawHeader.create(requestIdHeader, requestId));
  }
}
