package dev.tollgate.node.accesslog;

import dev.tollgate.config.NodeSettings;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The access log: one line per request, handed by request threads to a bounded queue and written
 * by one thread of its own.
 *
 * <p>Why a queue and a thread of our own rather than an async logback appender on a dedicated
 * logger: logback's {@code AsyncAppender} by default blocks callers when its queue is full (and,
 * with {@code neverBlock}, drops without telling us how many), and a logging event per request
 * would carry a message, arguments and MDC the line never needs. Here {@link #log} is one
 * non-blocking {@code offer}; formatting and I/O happen on the writer thread; a full queue drops
 * the line and counts it, so a slow or stuck destination never slows requests. The count is
 * logged at WARN at most once per {@link #WARN_EVERY} and is {@link #dropped()}.
 *
 * <p>The writer takes what is queued, formats it into one batch and writes the batch with one
 * call, then flushes. On standard output that call is atomic with respect to the node's other
 * logging, which writes to the same {@code PrintStream}, so lines never interleave mid-line.
 */
public final class AccessLog implements AutoCloseable {

  /** Drops are reported at most this often. */
  public static final Duration WARN_EVERY = Duration.ofSeconds(10);
  /** Writes nothing; {@link #enabled()} is false so that callers skip building records. */
  public static final AccessLog DISABLED = new AccessLog();

  private static final Logger log = LoggerFactory.getLogger(AccessLog.class);
  private static final int BATCH_CHARS = 64 * 1024;

  private final NodeSettings.AccessLog settings;
  private final ArrayBlockingQueue<AccessRecord> queue;
  private final LongSupplier nanos;
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong lastWarnNanos;
  private final AtomicLong droppedAtLastWarn = new AtomicLong();
  private final Thread writer;
  private volatile boolean closing;

  private AccessLog() {
    this.settings = NodeSettings.AccessLog.DEFAULT.withEnabled(false);
    this.queue = null;
    this.nanos = System::nanoTime;
    this.lastWarnNanos = new AtomicLong();
    this.writer = null;
  }

  private AccessLog(NodeSettings.AccessLog settings, LongSupplier nanos) {
    this.settings = settings;
    this.queue = new ArrayBlockingQueue<>(settings.queueSize());
    this.nanos = nanos;
    this.lastWarnNanos = new AtomicLong(nanos.getAsLong() - WARN_EVERY.toNanos());
    this.writer = new Thread(this::write, "tollgate-access-log");
    writer.setDaemon(true);
  }

  /** The access log these settings describe, its writer started; {@link #DISABLED} when not enabled. */
  public static AccessLog start(NodeSettings.AccessLog settings) {
    return start(settings, System::nanoTime);
  }

  static AccessLog start(NodeSettings.AccessLog settings, LongSupplier nanos) {
    Objects.requireNonNull(settings, "settings");
    if (!settings.enabled()) {
      return DISABLED;
    }
    AccessLog accessLog = new AccessLog(settings, nanos);
    accessLog.writer.start();
    return accessLog;
  }

  public boolean enabled() {
    return writer != null;
  }

  /** Whether logged paths carry their query string. */
  public boolean includeQuery() {
    return settings.includeQuery();
  }

  /** Queues one line; never waits. A full queue drops it and counts it. */
  public void log(AccessRecord record) {
    if (writer == null || queue.offer(record)) {
      return;
    }
    long total = dropped.incrementAndGet();
    long now = nanos.getAsLong();
    long last = lastWarnNanos.get();
    if (now - last >= WARN_EVERY.toNanos() && lastWarnNanos.compareAndSet(last, now)) {
      long since = total - droppedAtLastWarn.getAndSet(total);
      log.warn("The access log's writer falls behind its destination {}: {} lines dropped since the last report"
          + " ({} in all); tollgate.access-log.queue-size is {}", settings.destination(), since, total, settings.queueSize());
    }
  }

  /** Lines dropped because the queue was full, since the start. */
  public long dropped() {
    return dropped.get();
  }

  /** Writes what is queued (waiting up to two seconds for it), then stops the writer. */
  @Override
  public void close() {
    if (writer == null) {
      return;
    }
    closing = true;
    try {
      writer.join(2000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void write() {
    OutputStream out = open();
    StringBuilder batch = new StringBuilder(4096);
    try {
      while (!closing || !queue.isEmpty()) {
        AccessRecord r = queue.poll(200, TimeUnit.MILLISECONDS);
        if (r == null) {
          continue;
        }
        batch.setLength(0);
        do {
          append(batch, r);
        } while (batch.length() < BATCH_CHARS && (r = queue.poll()) != null);
        if (out != null) {
          try {
            byte[] bytes = batch.toString().getBytes(StandardCharsets.UTF_8);
            out.write(bytes, 0, bytes.length);
            out.flush();
          } catch (IOException e) {
            log.error("The access log cannot write to {}; it writes nothing more: {}", settings.destination(), e.toString());
            out = null;
          }
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      if (out != null && out != System.out) {
        try {
          out.close();
        } catch (IOException e) {
          log.warn("Closing the access log {} failed: {}", settings.destination(), e.toString());
        }
      }
    }
  }

  private void append(StringBuilder b, AccessRecord r) {
    if (settings.format() == NodeSettings.AccessLog.Format.JSON) {
      r.appendJson(b);
    } else {
      r.appendText(b);
    }
    b.append('\n');
  }

  /** The destination, opened on the writer thread: opening a file may block (a FIFO, a network mount). */
  private OutputStream open() {
    if (settings.destination().equals(NodeSettings.AccessLog.STDOUT)) {
      return System.out;
    }
    try {
      Path path = Path.of(settings.destination());
      return Files.newOutputStream(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    } catch (IOException | RuntimeException e) {
      log.error("The access log cannot open {}; it writes nothing: {}", settings.destination(), e.toString());
      return null;
    }
  }
}
