package dev.tollgate.node.proxy;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;
import org.apache.pekko.util.ByteString;

/**
 * The byte-level stage that takes a PROXY protocol header off the front of one connection, on the
 * network → server side, before the HTTP layer.
 *
 * <p>It reads on its own (without waiting for demand) until the buffered bytes hold a whole header
 * ({@link ProxyProtocolHeader}), then completes {@code header} with the decoded addresses, emits
 * the bytes after the header (they may have come in the same read) and from then on passes every
 * chunk through as it is: no buffering, no parsing, no copy. A header that can never be valid, a
 * connection closed before one, or no whole header within {@code timeout} of the connection's
 * start completes the stage, which closes the connection without an answer, and fails {@code
 * header}.
 *
 * <p>One instance per connection: {@code header} is that connection's. The proxy materializes the
 * HTTP layer lazily from it (see {@link ProxyServer}), so the HTTP side never sees the header.
 */
final class ProxyProtocolDecoder extends GraphStage<FlowShape<ByteString, ByteString>> {

  private final Inlet<ByteString> in = Inlet.create("ProxyProtocolDecoder.in");
  private final Outlet<ByteString> out = Outlet.create("ProxyProtocolDecoder.out");
  private final FlowShape<ByteString, ByteString> shape = FlowShape.of(in, out);

  private final CompletableFuture<ProxyProtocolHeader.Decoded> header;
  private final Duration timeout;
  private final InetSocketAddress peer;
  private final PeerWarnings warnings;

  ProxyProtocolDecoder(CompletableFuture<ProxyProtocolHeader.Decoded> header, Duration timeout, InetSocketAddress peer,
      PeerWarnings warnings) {
    this.header = header;
    this.timeout = timeout;
    this.peer = peer;
    this.warnings = warnings;
  }

  @Override
  public FlowShape<ByteString, ByteString> shape() {
    return shape;
  }

  /** Thrown into {@code header} when the connection is closed without one. */
  static final class NoHeader extends RuntimeException {
    NoHeader(String reason) {
      super(reason, null, false, false);
    }
  }

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new TimerGraphStageLogic(shape) {
      private ByteString buffered = ByteString.emptyByteString();

      private final AbstractInHandler passThroughIn = new AbstractInHandler() {
        @Override
        public void onPush() {
          push(out, grab(in));
        }
      };
      private final AbstractOutHandler passThroughOut = new AbstractOutHandler() {
        @Override
        public void onPull() {
          pull(in);
        }
      };

      {
        setHandler(in, new AbstractInHandler() {
          @Override
          public void onPush() {
            buffered = buffered.concat(grab(in));
            ProxyProtocolHeader.Result result = ProxyProtocolHeader.parse(buffered);
            if (result instanceof ProxyProtocolHeader.Decoded decoded) {
              accept(decoded);
            } else if (result instanceof ProxyProtocolHeader.Invalid invalid) {
              reject(true, "Closed a connection from {}: invalid PROXY protocol header: {}", invalid.reason());
            } else {
              pull(in);
            }
          }

          @Override
          public void onUpstreamFinish() {
            reject(!buffered.isEmpty(), "Connection from {} closed before a whole PROXY protocol header ({} bytes)",
                buffered.length());
          }

          @Override
          public void onUpstreamFailure(Throwable ex) {
            header.completeExceptionally(ex);
            failStage(ex);
          }
        });
        setHandler(out, new AbstractOutHandler() {
          @Override
          public void onPull() {
            // the header is read without demand; bytes go out only after it
          }

          @Override
          public void onDownstreamFinish(Throwable cause) {
            header.completeExceptionally(new NoHeader("downstream finished"));
            cancelStage(cause);
          }
        });
      }

      @Override
      public void preStart() {
        scheduleOnce("header", timeout);
        pull(in);
      }

      private void accept(ProxyProtocolHeader.Decoded decoded) {
        cancelTimer("header");
        ByteString rest = buffered.drop(decoded.length());
        buffered = null;
        header.complete(decoded);
        setHandler(in, passThroughIn);
        setHandler(out, passThroughOut);
        if (!rest.isEmpty()) {
          emit(out, rest);
        } else if (isAvailable(out)) {
          pull(in);
        }
      }

      private void reject(boolean warn, String message, Object detail) {
        header.completeExceptionally(new NoHeader("no valid PROXY protocol header"));
        if (warn) {
          warnings.warn(peer.getAddress(), message, detail);
        } else {
          warnings.debug(peer.getAddress(), message, detail);
        }
        completeStage();
      }

      @Override
      public void onTimer(Object key) {
        reject(true, "Closed a connection from {}: no whole PROXY protocol header within {} ms", timeout.toMillis());
      }

      @Override
      public void postStop() {
        header.completeExceptionally(new NoHeader("connection closed"));
      }
    };
  }
}
