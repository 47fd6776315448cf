package dev.tollgate.node.identity;

import dev.tollgate.cluster.directory.DirectoryUnavailableException;
import dev.tollgate.config.RouteAuth;
import dev.tollgate.node.route.RequestView;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * One route's door: tells who sent a request, in the ways the route accepts, and whether that
 * caller may use the route. Built once per route and config version; {@link #check} allocates
 * little and never blocks.
 *
 * <ul>
 *   <li>A key that matches no consumer gets 401, whatever else the route accepts, and the answer
 *       does not say which keys exist.
 *   <li>A request without a credential is anonymous if the route accepts anonymous callers, else
 *       401 with a {@code WWW-Authenticate} challenge naming where the key goes.
 *   <li>A consumer outside the route's {@code allow} gets 403.
 *   <li>An admitted consumer's key is removed from what the upstream receives, unless the route
 *       keeps it.
 * </ul>
 */
public final class RouteGuard {

  /** What the guard decided about a request. */
  public sealed interface Outcome {}

  /**
   * The request may go on.
   *
   * @param dropHeaders lower-case names of headers holding a credential, to remove before the upstream
   * @param dropQueryParameter a query parameter holding a credential, to remove before the upstream
   */
  public record Pass(Caller caller, List<String> dropHeaders, Optional<String> dropQueryParameter) implements Outcome {
    public Pass {
      Objects.requireNonNull(caller, "caller");
      dropHeaders = List.copyOf(dropHeaders);
      Objects.requireNonNull(dropQueryParameter, "dropQueryParameter");
    }
  }

  /**
   * The request is answered now.
   *
   * @param status 401, 403, or 503 when the directory of keys cannot answer
   * @param challenge the {@code WWW-Authenticate} value, with 401
   * @param detail why, for the problem body; never the credential itself
   */
  public record Refuse(int status, Optional<String> challenge, String detail) implements Outcome {
    public Refuse {
      Objects.requireNonNull(challenge, "challenge");
      Objects.requireNonNull(detail, "detail");
    }
  }

  private static final Pass ANONYMOUS = new Pass(Caller.ANONYMOUS, List.of(), Optional.empty());

  private final ApiKeyDirectory keys;
  private final boolean acceptsKeys;
  private final boolean acceptsAnonymous;
  private final String header;
  private final String query;
  private final Optional<RouteAuth.Allow> allow;
  private final List<String> dropHeaders;
  private final Optional<String> dropQuery;
  private final Refuse missing;
  private final Refuse wrongHeaderKey;
  private final Refuse wrongQueryKey;
  private final Refuse forbidden;
  private static final Refuse DIRECTORY_UNAVAILABLE =
      new Refuse(503, Optional.empty(), "The consumer directory is not available; try again shortly.");

  /** @param defaultHeader the file's {@code api_keys.header}, for routes that name no header of their own */
  public RouteGuard(RouteAuth auth, String defaultHeader, ApiKeyDirectory keys) {
    Objects.requireNonNull(auth, "auth");
    this.keys = Objects.requireNonNull(keys, "keys");
    this.acceptsKeys = auth.accept().contains(RouteAuth.Credential.API_KEY);
    this.acceptsAnonymous = auth.accept().contains(RouteAuth.Credential.ANONYMOUS);
    this.header = auth.apiKey().header().orElse(Objects.requireNonNull(defaultHeader, "defaultHeader"));
    this.query = auth.apiKey().query().orElse(null);
    this.allow = auth.allow();
    boolean keep = auth.apiKey().keep();
    this.dropHeaders = keep ? List.of() : List.of(header.toLowerCase(Locale.ROOT));
    this.dropQuery = keep ? Optional.empty() : auth.apiKey().query();
    String challenge = "ApiKey header=\"" + header + "\"" + (query == null ? "" : ", query=\"" + query + "\"");
    this.missing = new Refuse(401, Optional.of(challenge), "This route needs an API key in the " + header + " header"
        + (query == null ? "" : " or the " + query + " query parameter") + ".");
    this.wrongHeaderKey = new Refuse(401, Optional.of(challenge), "The API key in " + header + " is not valid.");
    this.wrongQueryKey = new Refuse(401, Optional.of(challenge),
        "The API key in the " + query + " query parameter is not valid.");
    this.forbidden = new Refuse(403, Optional.empty(), "This consumer may not use this route.");
  }

  public Outcome check(RequestView request) {
    if (!acceptsKeys) {
      return ANONYMOUS;
    }
    String key = request.header(header);
    boolean inQuery = false;
    if (key == null && query != null) {
      key = request.queryParameter(query);
      inQuery = key != null;
    }
    if (key == null) {
      return acceptsAnonymous ? ANONYMOUS : missing;
    }
    Optional<Caller.Consumer> found;
    try {
      found = keys.find(key);
    } catch (DirectoryUnavailableException e) {
      return DIRECTORY_UNAVAILABLE;
    }
    if (found.isEmpty()) {
      return inQuery ? wrongQueryKey : wrongHeaderKey;
    }
    Caller.Consumer consumer = found.get();
    if (allow.isPresent() && !allow.get().admits(consumer.id(), consumer.groups())) {
      return forbidden;
    }
    return new Pass(consumer, dropHeaders, dropQuery);
  }
}
