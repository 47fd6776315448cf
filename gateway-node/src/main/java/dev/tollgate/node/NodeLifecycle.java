package dev.tollgate.node;

import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * Where a node is in its life, as {@code GET /ready} reports it: ready only while the node is a
 * cluster member that is Up, serves the cluster's current config with its proxy bound ({@link
 * #serving()}), and is not stopping ({@link #stopping()}, the first step of a shutdown).
 * One per actor system.
 */
public final class NodeLifecycle implements Extension {

  private static final ExtensionId<NodeLifecycle> ID = new ExtensionId<>() {
    @Override
    public NodeLifecycle createExtension(ActorSystem<?> system) {
      return new NodeLifecycle(system);
    }
  };

  private final ActorSystem<?> system;
  private volatile boolean serving;
  private volatile boolean stopping;

  private NodeLifecycle(ActorSystem<?> system) {
    this.system = system;
  }

  public static NodeLifecycle get(ActorSystem<?> system) {
    return system.registerExtension(ID);
  }

  /** The proxy is bound and has the cluster's current config. */
  void serving() {
    serving = true;
  }

  /** The node is stopping: from now on it is not ready. */
  void stopping() {
    stopping = true;
  }

  public boolean isReady() {
    return serving && !stopping && Cluster.get(system).selfMember().status() == MemberStatus.up();
  }
}
