package dev.tollgate.node.demo;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.pattern.Patterns;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * A small upstream for {@code tollgate demo}: it answers every request with JSON that describes
 * what it received (its own name, method, path, query and headers), so one can see what the
 * gateway forwarded. {@code /slow?ms=N} answers after N ms; {@code /status/N} answers status N.
 */
public final class DemoUpstream {

  private static final JsonFactory JSON = new JsonFactory();

  private final String name;
  private final ServerBinding binding;

  private DemoUpstream(String name, ServerBinding binding) {
    this.name = name;
    this.binding = binding;
  }

  public static CompletionStage<DemoUpstream> start(ActorSystem<?> system, String name, String host, int port) {
    Materializer mat = Materializer.matFromSystem(system);
    return Http.get(system).newServerAt(host, port)
        .bind((org.apache.pekko.japi.function.Function<HttpRequest, CompletionStage<HttpResponse>>)
            request -> handle(system, mat, name, request))
        .thenApply(b -> new DemoUpstream(name, b));
  }

  private static CompletionStage<HttpResponse> handle(ActorSystem<?> system, Materializer mat, String name, HttpRequest request) {
    String path = request.getUri().path();
    // Read (and count) the body, so uploads of any size stream through.
    return request.entity().withoutSizeLimit().getDataBytes()
        .runWith(Sink.fold(0L, (n, bytes) -> n + bytes.length()), mat)
        .thenCompose(bodyBytes -> {
          if (path.startsWith("/status/")) {
            int code = Integer.parseInt(path.substring("/status/".length()));
            return CompletableFuture.completedFuture(HttpResponse.create().withStatus(StatusCodes.get(code))
                .withEntity(ContentTypes.APPLICATION_JSON, describe(name, request, bodyBytes)));
          }
          HttpResponse response = HttpResponse.create()
              .withEntity(ContentTypes.APPLICATION_JSON, describe(name, request, bodyBytes));
          if (path.equals("/slow")) {
            long ms = request.getUri().query().get("ms").map(Long::parseLong).orElse(1000L);
            return Patterns.after(Duration.ofMillis(ms), system.classicSystem().scheduler(), system.executionContext(),
                () -> CompletableFuture.completedFuture(response));
          }
          return CompletableFuture.completedFuture(response);
        });
  }

  private static String describe(String name, HttpRequest request, long bodyBytes) {
    StringWriter out = new StringWriter();
    try (JsonGenerator g = JSON.createGenerator(out).useDefaultPrettyPrinter()) {
      g.writeStartObject();
      g.writeStringField("upstream", name);
      g.writeStringField("method", request.method().value());
      g.writeStringField("path", request.getUri().path());
      g.writeStringField("query", request.getUri().rawQueryString().orElse(""));
      g.writeNumberField("body_bytes", bodyBytes);
      g.writeObjectFieldStart("headers");
      for (HttpHeader h : request.getHeaders()) {
        g.writeStringField(h.name(), h.value());
      }
      g.writeEndObject();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out + "\n";
  }

  public String name() {
    return name;
  }

  public InetSocketAddress address() {
    return binding.localAddress();
  }

  public CompletionStage<?> stop() {
    return binding.unbind();
  }
}
