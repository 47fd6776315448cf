package dev.tollgate.loadtests.directory;

import dev.tollgate.cluster.directory.CredentialDirectory;
import dev.tollgate.cluster.directory.CredentialDirectory.KeyImport;
import dev.tollgate.cluster.directory.DirectoryConsumer;
import dev.tollgate.persistence.Database;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * One directory member in a JVM of its own, for {@link DirectoryLoad}: it starts a
 * {@link CredentialDirectory} on the given PostgreSQL, says {@code started <ms>}, then answers one
 * line per command read from standard input. Keys are made from their index, so that any member can
 * check any key without being told it:
 *
 * <ul>
 *   <li>{@code members} → {@code members <n>}
 *   <li>{@code import <consumers> <keys> <batch>} → {@code imported <keys> <ms> <consumers-ms>}:
 *       creates the consumers one by one, then imports the keys, {@code batch} per call
 *   <li>{@code check <keys> <sample>} → {@code found <n> <sample> <first-ns> <second-ns>}: looks up
 *       {@code sample} keys picked at random, twice (the second time through the near cache)
 *   <li>{@code count} → {@code count <keys>}
 *   <li>{@code heap} → {@code heap <used bytes>} after a full collection
 *   <li>{@code quit}: leaves the cluster and exits
 * </ul>
 *
 * <p>Arguments: {@code <port> <member,member,...> <jdbc url> <user> <password>}.
 */
public final class DirectoryMember {

  private DirectoryMember() {}

  static String key(int index) {
    return "tg_load_" + Integer.toString(index, 36) + "_" + Long.toHexString(index * 0x9E3779B97F4A7C15L);
  }

  static String consumer(int index, int consumers) {
    return "load-consumer-" + (index % consumers);
  }

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    List<String> members = List.of(args[1].split(","));
    Database db = Database.postgres(args[2], args[3], args[4]);
    long t0 = System.nanoTime();
    CredentialDirectory directory = CredentialDirectory.start(
        new CredentialDirectory.Settings("tollgate-load", "127.0.0.1", port, members, 1, 100_000), db, Clock.systemUTC());
    System.out.println("started " + (System.nanoTime() - t0) / 1_000_000);
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      String[] cmd = line.trim().split(" ");
      switch (cmd[0]) {
        case "members" -> System.out.println("members " + directory.members());
        case "count" -> System.out.println("count " + directory.keyCount());
        case "heap" -> {
          for (int i = 0; i < 3; i++) {
            System.gc();
          }
          System.out.println("heap " + ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        case "import" -> {
          int consumers = Integer.parseInt(cmd[1]);
          int keys = Integer.parseInt(cmd[2]);
          int batch = Integer.parseInt(cmd[3]);
          long created = System.nanoTime();
          for (int c = 0; c < consumers; c++) {
            directory.createConsumer(new DirectoryConsumer("load-consumer-" + c, Optional.of("gold"), List.of("load")));
          }
          long consumerMillis = (System.nanoTime() - created) / 1_000_000;
          long start = System.nanoTime();
          for (int from = 0; from < keys; from += batch) {
            List<KeyImport> imports = new ArrayList<>(batch);
            for (int k = from; k < Math.min(keys, from + batch); k++) {
              imports.add(new KeyImport(consumer(k, consumers), key(k)));
            }
            directory.importKeys(imports);
            System.err.printf("imported %d of %d keys after %d ms%n", Math.min(keys, from + batch), keys,
                (System.nanoTime() - start) / 1_000_000);
          }
          System.out.println("imported " + keys + " " + (System.nanoTime() - start) / 1_000_000 + " " + consumerMillis);
        }
        case "check" -> {
          int keys = Integer.parseInt(cmd[1]);
          int sample = Integer.parseInt(cmd[2]);
          SplittableRandom random = new SplittableRandom(port);
          int[] picked = new int[sample];
          for (int i = 0; i < sample; i++) {
            picked[i] = random.nextInt(keys);
          }
          int found = 0;
          long[] nanos = new long[2];
          for (int pass = 0; pass < 2; pass++) {
            long start = System.nanoTime();
            found = 0;
            for (int k : picked) {
              if (directory.consumerForApiKey(key(k)).isPresent()) {
                found++;
              }
            }
            nanos[pass] = System.nanoTime() - start;
          }
          System.out.println("found " + found + " " + sample + " " + nanos[0] + " " + nanos[1]);
        }
        case "quit" -> {
          directory.close();
          System.out.println("bye");
          return;
        }
        default -> System.out.println("error unknown command " + cmd[0]);
      }
    }
  }
}
