package dev.tollgate.node.accesslog;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.tollgate.config.NodeSettings;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** Dropping when the writer is stuck, and how often that is reported; time is stepped, not slept. */
class AccessLogTest {

  @TempDir
  Path dir;

  @Test
  void dropsWhatDoesNotFitAndWarnsAtMostOncePerTenSeconds() throws Exception {
    Path fifo = dir.resolve("stuck.fifo");
    assertThat(new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor()).isZero();
    Logger logger = (Logger) LoggerFactory.getLogger(AccessLog.class);
    ListAppender<ILoggingEvent> events = new ListAppender<>();
    events.start();
    logger.addAppender(events);
    AtomicLong now = new AtomicLong(1_000_000_000_000L);
    // Nobody reads the FIFO, so the writer thread stays in its open and takes nothing from the queue.
    AccessLog accessLog = AccessLog.start(NodeSettings.AccessLog.DEFAULT.withDestination(fifo.toString()).withQueueSize(2),
        now::get);
    try {
      AccessRecord r = AccessRecordTest.record("/x", null, -1);
      accessLog.log(r);
      accessLog.log(r);
      assertThat(accessLog.dropped()).isZero();
      accessLog.log(r);
      accessLog.log(r);
      assertThat(accessLog.dropped()).isEqualTo(2);
      assertThat(events.list).singleElement().extracting(ILoggingEvent::getFormattedMessage).asString()
          .contains("1 lines dropped since the last report (1 in all)");
      now.addAndGet(9_999_000_000L);
      accessLog.log(r);
      assertThat(events.list).hasSize(1);
      now.addAndGet(1_000_000L);
      accessLog.log(r);
      assertThat(accessLog.dropped()).isEqualTo(4);
      assertThat(events.list).hasSize(2);
      assertThat(events.list.get(1).getFormattedMessage()).contains("3 lines dropped since the last report (4 in all)");
    } finally {
      logger.detachAppender(events);
      // A reader lets the writer's open return, so that it can stop.
      new ProcessBuilder("sh", "-c", "cat " + fifo + " > /dev/null").start();
      accessLog.close();
    }
  }

  @Test
  void disabledIsTheSharedNoOp() {
    AccessLog off = AccessLog.start(NodeSettings.AccessLog.DEFAULT.withEnabled(false));
    assertThat(off).isSameAs(AccessLog.DISABLED);
    assertThat(off.enabled()).isFalse();
    off.log(AccessRecordTest.record("/x", null, -1));
    assertThat(off.dropped()).isZero();
  }
}
