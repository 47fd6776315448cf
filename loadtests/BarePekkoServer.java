import com.typesafe.config.ConfigFactory;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;

/**
 * The framework's ceiling for bench-proxy.sh: a bare Pekko HTTP server (the same Pekko and JVM as
 * Tollgate) answering every request with a fixed 1 KiB body, proxying nothing. A proxy built on
 * Pekko HTTP does this server's work plus a client's, so it cannot be faster than this.
 *
 * <p>Run with Tollgate's jar on the class path: {@code java -cp tollgate.jar BarePekkoServer.java PORT}.
 */
public class BarePekkoServer {
  public static void main(String[] args) {
    int port = Integer.parseInt(args[0]);
    var system = ActorSystem.create(Behaviors.empty(), "bare", ConfigFactory.parseString(
        "pekko.http.server.request-timeout = infinite\npekko.loglevel = WARNING").withFallback(ConfigFactory.load()));
    byte[] body = new byte[1024];
    java.util.Arrays.fill(body, (byte) 'x');
    HttpResponse response = HttpResponse.create().withEntity(ContentTypes.TEXT_PLAIN_UTF8, body);
    Http.get(system).newServerAt("127.0.0.1", port).bindSync(request -> {
      request.discardEntityBytes(system);
      return response;
    }).thenAccept(b -> System.out.println("bare Pekko HTTP server on " + b.localAddress()));
  }
}
