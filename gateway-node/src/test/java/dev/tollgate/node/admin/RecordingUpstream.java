package dev.tollgate.node.admin;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.japi.function.Function;

/** A real upstream that answers 200 and remembers the headers of every request it received. */
final class RecordingUpstream implements AutoCloseable {

  private final ServerBinding binding;
  private final List<List<HttpHeader>> seen = new CopyOnWriteArrayList<>();

  RecordingUpstream(ActorSystem<?> system) {
    this.binding = Http.get(system).newServerAt("127.0.0.1", 0)
        .bind((Function<HttpRequest, CompletionStage<HttpResponse>>) request -> {
          List<HttpHeader> headers = new java.util.ArrayList<>();
          request.getHeaders().forEach(headers::add);
          seen.add(headers);
          request.discardEntityBytes(system);
          return CompletableFuture.completedFuture(HttpResponse.create().withEntity(ContentTypes.TEXT_PLAIN_UTF8, "app"));
        })
        .toCompletableFuture().join();
  }

  String url() {
    return "http://127.0.0.1:" + binding.localAddress().getPort();
  }

  int requests() {
    return seen.size();
  }

  /** The value of {@code name} in the last request received, or null. */
  String lastHeader(String name) {
    if (seen.isEmpty()) {
      return null;
    }
    return seen.get(seen.size() - 1).stream().filter(h -> h.name().equalsIgnoreCase(name)).map(HttpHeader::value)
        .findFirst().orElse(null);
  }

  @Override
  public void close() {
    binding.unbind().toCompletableFuture().join();
  }
}
