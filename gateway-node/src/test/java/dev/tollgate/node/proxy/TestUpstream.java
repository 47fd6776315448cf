package dev.tollgate.node.proxy;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * A real HTTP server standing in for an upstream service: it counts requests, remembers the last
 * one's method, path and headers, reads bodies whole, and answers as its current behaviour says.
 */
final class TestUpstream implements AutoCloseable {

  /** What one received request looked like. */
  record Seen(String method, String uri, List<HttpHeader> headers, long bodyBytes) {
    String header(String name) {
      return headers.stream().filter(h -> h.name().equalsIgnoreCase(name)).map(HttpHeader::value).findFirst().orElse(null);
    }

    long count(String name) {
      return headers.stream().filter(h -> h.name().equalsIgnoreCase(name)).count();
    }
  }

  final String name;
  private final ServerBinding binding;
  private final AtomicInteger requests = new AtomicInteger();
  private final List<String> paths = new CopyOnWriteArrayList<>();
  private final List<Seen> seen = new CopyOnWriteArrayList<>();
  private final AtomicReference<Function<HttpRequest, CompletionStage<HttpResponse>>> behaviour = new AtomicReference<>();

  private TestUpstream(String name, ActorSystem<?> system, int port) {
    this.name = name;
    Materializer mat = Materializer.matFromSystem(system);
    behaviour.set(r -> CompletableFuture.completedFuture(ok()));
    this.binding = Http.get(system).newServerAt("127.0.0.1", port)
        .bind((Function<HttpRequest, CompletionStage<HttpResponse>>) request -> {
          requests.incrementAndGet();
          paths.add(request.getUri().path());
          List<HttpHeader> headers = new java.util.ArrayList<>();
          request.getHeaders().forEach(headers::add);
          return request.entity().withoutSizeLimit().getDataBytes().runWith(Sink.fold(0L, (n, b) -> n + b.length()), mat)
              .thenCompose(bytes -> {
                seen.add(new Seen(request.method().value(), request.getUri().toRelative().toString(), headers, bytes));
                try {
                  return behaviour.get().apply(request);
                } catch (Exception e) {
                  return CompletableFuture.failedFuture(e);
                }
              });
        })
        .toCompletableFuture().join();
  }

  static TestUpstream start(String name, ActorSystem<?> system) {
    return new TestUpstream(name, system, 0);
  }

  static TestUpstream start(String name, ActorSystem<?> system, int port) {
    return new TestUpstream(name, system, port);
  }

  HttpResponse ok() {
    return HttpResponse.create().withEntity(ContentTypes.TEXT_PLAIN_UTF8, name);
  }

  void answer(Function<HttpRequest, CompletionStage<HttpResponse>> next) {
    behaviour.set(next);
  }

  int port() {
    return binding.localAddress().getPort();
  }

  InetSocketAddress address() {
    return binding.localAddress();
  }

  String url() {
    return "http://127.0.0.1:" + port();
  }

  /** How many requests for {@code path} or below it arrived, counted as their heads arrive. */
  long requestsTo(String path) {
    return paths.stream().filter(p -> p.equals(path) || p.startsWith(path + "/")).count();
  }

  int requests() {
    return requests.get();
  }

  Seen last() {
    return seen.isEmpty() ? null : seen.get(seen.size() - 1);
  }

  @Override
  public void close() {
    binding.unbind().toCompletableFuture().join();
  }
}
