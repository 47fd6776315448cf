package dev.tollgate.cluster.config;

import dev.tollgate.cluster.config.ConfigStore.ConfigVersion;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ddata.LWWRegister;
import org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;

/**
 * This node's view of the cluster's config: follows {@link ConfigStore#CURRENT} in the local
 * Distributed Data replica and hands each newer version to a listener, once, in version order
 * (a version older than one already handed on, as gossip may bring late, is dropped).
 */
public final class ConfigFeed {

  private ConfigFeed() {}

  /**
   * Starts following the config. The listener runs on the feed's actor, one version at a time; it
   * should compile and swap in the version, not block for long.
   *
   * @return the feed's actor; stopping it stops the feed
   */
  public static ActorRef<Replicator.SubscribeResponse<LWWRegister<ConfigVersion>>> follow(ActorSystem<?> system,
      String name, Consumer<ConfigVersion> listener) {
    return system.systemActorOf(behavior(listener), name, org.apache.pekko.actor.typed.Props.empty());
  }

  static Behavior<Replicator.SubscribeResponse<LWWRegister<ConfigVersion>>> behavior(Consumer<ConfigVersion> listener) {
    return Behaviors.setup(context -> {
      DistributedData.get(context.getSystem()).replicator().tell(new Replicator.Subscribe<>(ConfigStore.CURRENT, context.getSelf()));
      long[] last = {0};
      return Behaviors.<Replicator.SubscribeResponse<LWWRegister<ConfigVersion>>>receiveMessage(message -> {
        if (message instanceof Replicator.Changed<LWWRegister<ConfigVersion>> changed) {
          ConfigVersion v = changed.get(ConfigStore.CURRENT).getValue();
          if (v.version() > last[0]) {
            last[0] = v.version();
            listener.accept(v);
          }
        }
        return Behaviors.same();
      });
    });
  }
}
