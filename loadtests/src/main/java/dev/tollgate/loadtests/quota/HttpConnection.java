package dev.tollgate.loadtests.quota;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * One keep-alive HTTP/1.1 connection: writes a request, reads one response (length or chunked).
 * Public for the HA drill, which also needs a response's {@code RateLimit} header and small body,
 * and connections from a chosen loopback source address.
 */
public final class HttpConnection implements AutoCloseable {

  /** Bodies kept by {@link #send} at most; the rest is read and dropped. */
  private static final int KEPT_BODY_BYTES = 4096;

  /**
   * One response.
   *
   * @param rateLimit the {@code RateLimit} header, or null
   * @param body the first {@value #KEPT_BODY_BYTES} bytes of the body when asked for, else ""
   */
  public record Response(int status, String rateLimit, String body) {}

  private final Socket socket;
  private final OutputStream out;
  private final InputStream in;
  boolean closeAfter;
  /** Bytes of the current response read so far: 0 when a failure came before any answer. */
  private long responseBytes;
  private ByteArrayOutputStream kept;

  HttpConnection(int port) throws IOException {
    this(null, InetAddress.getLoopbackAddress(), port);
  }

  /**
   * @param source the local address to connect from (such as 127.0.0.2, to be another client on
   *     loopback), or null for the system's choice
   */
  public HttpConnection(InetAddress source, InetAddress host, int port) throws IOException {
    socket = new Socket();
    socket.setTcpNoDelay(true);
    if (source != null) {
      socket.bind(new InetSocketAddress(source, 0));
    }
    socket.connect(new InetSocketAddress(host, port), 5000);
    socket.setSoTimeout(10_000);
    out = socket.getOutputStream();
    in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
  }

  int exchange(byte[] request) throws IOException {
    return send(request, false).status();
  }

  /**
   * Whether the server has closed this idle connection (or sent something unasked), so that a
   * request written on it now would fail: the stale-connection check HTTP clients make before
   * reusing a pooled connection (Apache HttpClient's, a 1 ms read). A server that stops closes its
   * idle keep-alive connections; without the check, the next request on each of them fails.
   */
  public boolean closedByPeer() {
    try {
      if (in.available() > 0) {
        return true;
      }
      socket.setSoTimeout(1);
      try {
        in.read();
        return true;
      } catch (java.net.SocketTimeoutException e) {
        return false;
      } finally {
        socket.setSoTimeout(10_000);
      }
    } catch (IOException e) {
      return true;
    }
  }

  /** Whether the last response asked for the connection to be closed after it. */
  public boolean closeAfter() {
    return closeAfter;
  }

  /** Whether any byte of the last response arrived (so a failure was not before the answer began). */
  public boolean answerStarted() {
    return responseBytes > 0;
  }

  /** Writes {@code request} and reads its response, keeping the body's start if {@code keepBody}. */
  public Response send(byte[] request, boolean keepBody) throws IOException {
    responseBytes = 0;
    kept = keepBody ? new ByteArrayOutputStream(256) : null;
    out.write(request);
    out.flush();
    String status = line();
    if (!status.startsWith("HTTP/1.1 ") || status.length() < 12) {
      throw new IOException("not an HTTP/1.1 response: " + status);
    }
    int code = Integer.parseInt(status.substring(9, 12));
    long length = -1;
    boolean chunked = false;
    String rateLimit = null;
    closeAfter = false;
    for (String header = line(); !header.isEmpty(); header = line()) {
      int colon = header.indexOf(':');
      if (colon <= 0) {
        continue;
      }
      String name = header.substring(0, colon).trim();
      String value = header.substring(colon + 1).trim();
      if (name.equalsIgnoreCase("Content-Length")) {
        length = Long.parseLong(value);
      } else if (name.equalsIgnoreCase("Transfer-Encoding") && value.equalsIgnoreCase("chunked")) {
        chunked = true;
      } else if (name.equalsIgnoreCase("Connection") && value.equalsIgnoreCase("close")) {
        closeAfter = true;
      } else if (name.equalsIgnoreCase("RateLimit")) {
        rateLimit = value;
      }
    }
    if (chunked) {
      for (long size = Long.parseLong(line().split(";")[0].trim(), 16); size > 0;
          size = Long.parseLong(line().split(";")[0].trim(), 16)) {
        skip(size);
        line();
      }
      while (!line().isEmpty()) {
        // trailers
      }
    } else if (length > 0) {
      skip(length);
    } else if (length < 0) {
      throw new IOException("a response without Content-Length or chunking");
    }
    String body = kept == null ? "" : kept.toString(StandardCharsets.UTF_8);
    kept = null;
    return new Response(code, rateLimit, body);
  }

  private void skip(long n) throws IOException {
    while (n > 0) {
      if (kept != null && kept.size() < KEPT_BODY_BYTES) {
        int c = in.read();
        if (c < 0) {
          throw new IOException("connection closed in a response body");
        }
        kept.write(c);
        n--;
        continue;
      }
      long skipped = in.skip(n);
      if (skipped <= 0) {
        if (in.read() < 0) {
          throw new IOException("connection closed in a response body");
        }
        skipped = 1;
      }
      n -= skipped;
    }
  }

  private String line() throws IOException {
    StringBuilder b = new StringBuilder(64);
    for (int c = in.read(); c != '\n'; c = in.read()) {
      if (c < 0) {
        throw new IOException("connection closed");
      }
      responseBytes++;
      if (c != '\r') {
        b.append((char) c);
      }
    }
    responseBytes++;
    return b.toString();
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException e) {
      // closing anyway
    }
  }
}
