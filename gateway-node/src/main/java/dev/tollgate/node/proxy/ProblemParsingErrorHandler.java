package dev.tollgate.node.proxy;

import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.ParsingErrorHandler;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.scaladsl.model.ErrorInfo;
import org.apache.pekko.http.scaladsl.model.StatusCode;
import org.apache.pekko.http.scaladsl.settings.ServerSettings;

/**
 * Answers requests the HTTP parser refused (URI too long, header too large, conflicting
 * Content-Length and Transfer-Encoding, ...) with a problem+json body instead of Pekko's plain
 * text. These requests never reach a route, let alone an upstream. Configured as
 * {@code pekko.http.server.parsing.error-handler}.
 */
public final class ProblemParsingErrorHandler extends ParsingErrorHandler {

  @Override
  public HttpResponse handle(StatusCode status, ErrorInfo info, LoggingAdapter log, ServerSettings settings) {
    log.info("Refused a malformed request: {} ({})", status.value(), info.summary());
    String type = switch (status.intValue()) {
      case 414 -> "uri-too-long";
      case 431 -> "headers-too-large";
      case 413 -> "body-too-large";
      case 408 -> "request-timeout";
      default -> "bad-request";
    };
    return Problem.simple(status, type, status.reason(), info.summary());
  }
}
