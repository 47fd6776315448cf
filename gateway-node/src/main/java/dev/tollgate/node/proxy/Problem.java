package dev.tollgate.node.proxy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Objects;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/**
 * An RFC 9457 problem detail, answered as {@code application/problem+json}. Every problem the
 * gateway itself produces has a stable {@code type} URN and carries the request id. One extension:
 * a request with several mistakes lists each in {@code errors}, as {@code field: value (expected: ...)}.
 */
public record Problem(StatusCode status, String type, String title, String detail, List<String> errors) {

  public Problem {
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(title, "title");
    Objects.requireNonNull(detail, "detail");
    errors = List.copyOf(Objects.requireNonNull(errors, "errors"));
  }

  public Problem(StatusCode status, String type, String title, String detail) {
    this(status, type, title, detail, List.of());
  }

  public static final ContentType.NonBinary PROBLEM_JSON =
      MediaTypes.applicationWithFixedCharset("problem+json", org.apache.pekko.http.javadsl.model.HttpCharsets.UTF_8)
          .toContentType();

  private static final JsonFactory JSON = new JsonFactory();

  public static Problem noRoute(String method, String path) {
    return new Problem(StatusCodes.NOT_FOUND, "no-route", "No route matches", "No route matches " + method + " " + path + ".");
  }

  public static Problem bodyTooLarge(long limit) {
    return new Problem(StatusCodes.PAYLOAD_TOO_LARGE, "body-too-large", "Request body too large",
        "The request body exceeds this route's limit of " + limit + " bytes.");
  }

  public static Problem badRequestBody() {
    return new Problem(StatusCodes.BAD_REQUEST, "bad-request-body", "Request body incomplete",
        "The request body did not arrive whole in time.");
  }

  public static Problem headersTooLarge(int limit) {
    return new Problem(StatusCodes.REQUEST_HEADER_FIELDS_TOO_LARGE, "headers-too-large", "Request headers too large",
        "The request headers exceed the limit of " + limit + " bytes.");
  }

  public static Problem noHealthyTarget(String upstream) {
    return new Problem(StatusCodes.SERVICE_UNAVAILABLE, "no-healthy-target", "No healthy upstream target",
        "Upstream '" + upstream + "' has no available target.");
  }

  public static Problem overloaded(String upstream) {
    return new Problem(StatusCodes.SERVICE_UNAVAILABLE, "upstream-overloaded", "Upstream queue full",
        "Too many requests are waiting for a connection to upstream '" + upstream + "'.");
  }

  public static Problem badGateway(String upstream, String why) {
    return new Problem(StatusCodes.BAD_GATEWAY, "upstream-failed", "Bad gateway",
        "Upstream '" + upstream + "' failed: " + why + ".");
  }

  public static Problem gatewayTimeout(String upstream, java.time.Duration timeout) {
    return new Problem(StatusCodes.GATEWAY_TIMEOUT, "upstream-timeout", "Gateway timeout",
        "Upstream '" + upstream + "' sent no response within " + timeout.toMillis() + " ms.");
  }

  public static Problem unauthorized(String detail) {
    return new Problem(StatusCodes.UNAUTHORIZED, "unauthorized", "Unauthorized", detail);
  }

  public static Problem directoryUnavailable(String detail) {
    return new Problem(StatusCodes.SERVICE_UNAVAILABLE, "directory-unavailable", "Consumer directory unavailable", detail);
  }

  public static Problem forbidden(String detail) {
    return new Problem(StatusCodes.FORBIDDEN, "forbidden", "Forbidden", detail);
  }

  public static Problem rateLimited(String limit, long requests, String retryAfterSeconds) {
    return new Problem(StatusCodes.TOO_MANY_REQUESTS, "rate-limited", "Too many requests",
        "The limit '" + limit + "' of " + requests + " requests is spent; try again in " + retryAfterSeconds + " s.");
  }

  public static Problem quotaUnavailable() {
    return new Problem(StatusCodes.SERVICE_UNAVAILABLE, "quota-unavailable", "Quota service unavailable",
        "The gateway cannot check this caller's limits right now, and its plan says to refuse meanwhile.");
  }

  /** The problem's JSON body. */
  public String toJson(String requestId, String instance) {
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
      if (instance != null) {
        g.writeStringField("instance", instance);
      }
      if (requestId != null) {
        g.writeStringField("request_id", requestId);
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  /** The full response, with the request id also in {@code requestIdHeader}. */
  public HttpResponse toResponse(String requestIdHeader, String requestId, String instance) {
    HttpResponse response = HttpResponse.create()
        .withStatus(status)
        .withEntity(PROBLEM_JSON, toJson(requestId, instance));
    if (requestId != null) {
      response = response.addHeader(RawHeader.create(requestIdHeader, requestId));
    }
    return response;
  }

  /** Shared with the parsing error handler: a plain response for errors before a request exists. */
  static HttpResponse simple(StatusCode status, String type, String title, String detail) {
    return new Problem(status, type, title, detail).toResponse("X-Request-Id", null, null);
  }
}
