package dev.tollgate.node.proxy;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.BidiShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;
import org.apache.pekko.util.ByteString;

/**
 * A byte-level stage between a client's TCP connection and the HTTP server: a request head must
 * arrive whole (up to the blank line) within the timeout of its first byte, else the client gets
 * 408 and the connection closes. This stops slowloris clients, which Pekko's idle timeout alone
 * would let trickle one byte at a time.
 *
 * <p>It tracks heads without parsing HTTP: after a head, the connection counts as busy with that
 * request until the server starts a final (non-1xx) response; the next bytes after that begin the
 * next head. Bytes of a body the server answers before reading it whole would start the clock too;
 * such connections are closed by the server anyway.
 *
 * <p>Shape: top is server → network (responses), bottom is network → server (requests).
 */
final class HeadReadTimeout extends GraphStage<BidiShape<ByteString, ByteString, ByteString, ByteString>> {

  private final Inlet<ByteString> fromServer = Inlet.create("HeadReadTimeout.fromServer");
  private final Outlet<ByteString> toNetwork = Outlet.create("HeadReadTimeout.toNetwork");
  private final Inlet<ByteString> fromNetwork = Inlet.create("HeadReadTimeout.fromNetwork");
  private final Outlet<ByteString> toServer = Outlet.create("HeadReadTimeout.toServer");
  private final BidiShape<ByteString, ByteString, ByteString, ByteString> shape =
      BidiShape.of(fromServer, toNetwork, fromNetwork, toServer);

  private final Duration timeout;
  private final ByteString timeoutResponse;

  HeadReadTimeout(Duration timeout) {
    this.timeout = timeout;
    String body = Problem.simple(org.apache.pekko.http.javadsl.model.StatusCodes.REQUEST_TIMEOUT, "request-timeout",
            "Request Timeout", "The request head did not arrive within " + timeout.toMillis() + " ms.")
        .entity() instanceof org.apache.pekko.http.javadsl.model.HttpEntity.Strict s ? s.getData().utf8String() : "";
    byte[] bodyBytes = body.getBytes(StandardCharsets.UTF_8);
    this.timeoutResponse = ByteString.fromString("HTTP/1.1 408 Request Timeout\r\n"
            + "Content-Type: application/problem+json\r\n"
            + "Content-Length: " + bodyBytes.length + "\r\n"
            + "Connection: close\r\n\r\n")
        .concat(ByteString.fromArray(bodyBytes));
  }

  @Override
  public BidiShape<ByteString, ByteString, ByteString, ByteString> shape() {
    return shape;
  }

  private enum State { IDLE, HEAD, REQUEST }

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new TimerGraphStageLogic(shape) {
      private State state = State.IDLE;
      /** Characters on the current line of the head, and whether a line has ended yet. */
      private int lineLength;
      private boolean sawLine;
      private boolean timedOut;

      {
        setHandler(fromNetwork, new AbstractInHandler() {
          @Override
          public void onPush() {
            ByteString bytes = grab(fromNetwork);
            if (state == State.IDLE && !bytes.isEmpty()) {
              state = State.HEAD;
              lineLength = 0;
              sawLine = false;
              scheduleOnce("head", timeout);
            }
            if (state == State.HEAD && headEndsIn(bytes)) {
              state = State.REQUEST;
              cancelTimer("head");
            }
            push(toServer, bytes);
          }

          @Override
          public void onUpstreamFinish() {
            complete(toServer);
          }
        });
        setHandler(toServer, new AbstractOutHandler() {
          @Override
          public void onPull() {
            if (!hasBeenPulled(fromNetwork) && !isClosed(fromNetwork)) {
              pull(fromNetwork);
            }
          }

          @Override
          public void onDownstreamFinish(Throwable cause) {
            cancel(fromNetwork, cause);
          }
        });
        setHandler(fromServer, new AbstractInHandler() {
          @Override
          public void onPush() {
            ByteString bytes = grab(fromServer);
            if (state == State.REQUEST && !isInformational(bytes)) {
              state = State.IDLE;
            }
            push(toNetwork, bytes);
          }

          @Override
          public void onUpstreamFinish() {
            if (!timedOut) {
              complete(toNetwork);
            }
          }
        });
        setHandler(toNetwork, new AbstractOutHandler() {
          @Override
          public void onPull() {
            if (!hasBeenPulled(fromServer) && !isClosed(fromServer)) {
              pull(fromServer);
            }
          }
        });
      }

      private boolean headEndsIn(ByteString bytes) {
        int n = bytes.length();
        for (int i = 0; i < n; i++) {
          byte b = bytes.apply(i);
          if (b == '\n') {
            if (lineLength == 0 && sawLine) {
              return true;
            }
            sawLine = true;
            lineLength = 0;
          } else if (b != '\r') {
            lineLength++;
          }
        }
        return false;
      }

      @Override
      public void onTimer(Object key) {
        if (state != State.HEAD) {
          return;
        }
        timedOut = true;
        cancel(fromNetwork);
        cancel(fromServer);
        complete(toServer);
        emit(toNetwork, timeoutResponse, () -> completeStage());
      }
    };
  }

  private static boolean isInformational(ByteString bytes) {
    // "HTTP/1.1 1xx": the status line of an interim response such as 100 Continue.
    return bytes.length() > 9 && bytes.apply(0) == 'H' && bytes.apply(8) == ' ' && bytes.apply(9) == '1';
  }
}
