package dev.tollgate.node.proxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * Sends hand-written bytes over a socket, for requests a well-behaved client library refuses to
 * make (smuggling attempts, hop-by-hop headers, slow heads).
 */
final class RawHttp {

  private RawHttp() {}

  /** Sends {@code request} and reads until the server closes or {@code readMillis} pass. */
  static String exchange(int port, String request, int readMillis) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      socket.getOutputStream().flush();
      return readAll(socket, readMillis);
    }
  }

  static String readAll(Socket socket, int readMillis) throws IOException {
    socket.setSoTimeout(readMillis);
    InputStream in = socket.getInputStream();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[8192];
    try {
      int n;
      while ((n = in.read(buf)) >= 0) {
        out.write(buf, 0, n);
      }
    } catch (SocketTimeoutException e) {
      // what arrived so far is the answer
    }
    return out.toString(StandardCharsets.ISO_8859_1);
  }

  /** The status code of the first response in {@code raw}, or -1. */
  static int status(String raw) {
    if (!raw.startsWith("HTTP/1.1 ")) {
      return -1;
    }
    return Integer.parseInt(raw.substring(9, 12));
  }
}
