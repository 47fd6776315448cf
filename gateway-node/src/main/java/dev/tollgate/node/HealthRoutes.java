package dev.tollgate.node;

import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.ExtensionIdProvider;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.management.javadsl.ManagementRouteProvider;
import org.apache.pekko.management.javadsl.ManagementRouteProviderSettings;

/**
 * The routes Pekko Management serves for the node ({@code pekko.management.http.routes.tollgate}):
 * {@code GET /alive}, 200 while the process runs; {@code GET /ready}, 200 while {@link
 * NodeLifecycle#isReady()} and 503 otherwise. They replace Management's own health-check routes,
 * which answer a failed check with 500 where balancers and orchestrators expect 503.
 */
public final class HealthRoutes extends AbstractExtensionId<HealthRoutes.Provider> implements ExtensionIdProvider {

  public static final HealthRoutes ID = new HealthRoutes();

  /** Management makes one by name; every instance looks up {@link #ID}. */
  public HealthRoutes() {}

  @Override
  public HealthRoutes lookup() {
    return ID;
  }

  @Override
  public Provider createExtension(ExtendedActorSystem system) {
    return new Provider(NodeLifecycle.get(Adapter.toTyped(system)));
  }

  /** The routes of one node. */
  public static final class Provider implements ManagementRouteProvider {
    private final NodeLifecycle lifecycle;

    Provider(NodeLifecycle lifecycle) {
      this.lifecycle = lifecycle;
    }

    @Override
    public Route routes(ManagementRouteProviderSettings settings) {
      return Directives.get(() -> Directives.concat(
          Directives.path("alive", () -> Directives.complete(StatusCodes.OK, "alive")),
          Directives.path("ready", () -> Directives.extractRequest(request -> lifecycle.isReady()
              ? Directives.complete(StatusCodes.OK, "ready")
              : Directives.complete(StatusCodes.SERVICE_UNAVAILABLE, "not ready")))));
    }
  }
}
