package dev.tollgate.node.identity;

import dev.tollgate.cluster.directory.DirectoryUnavailableException;
import dev.tollgate.config.RouteAuth;
import dev.tollgate.node.identity.jwt.JwtOutcome;
import dev.tollgate.node.identity.jwt.JwtVerifier;
import dev.tollgate.node.route.RequestView;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * One route's door: tells who sent a request, in the ways the route accepts, and whether that
 * caller may use the route. Built once per route and config version; {@link #check} allocates
 * little and never blocks.
 *
 * <ul>
 *   <li>A key that matches no consumer gets 401, whatever else the route accepts, and the answer
 *       does not say which keys exist.
 *   <li>A bearer JWT is verified against the file's issuers (at once from cached keys); a bad one
 *       gets 401 with an RFC 6750 {@code invalid_token} challenge. An API key, when the route takes
 *       both and both are sent, decides.
 *   <li>A request without a credential is anonymous if the route accepts anonymous callers, else
 *       401 with a {@code WWW-Authenticate} challenge for each kind of credential the route takes.
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
   * @param challenges the {@code WWW-Authenticate} values, with 401: one per kind of credential the route takes
   * @param detail why, for the problem body; never the credential itself
   */
  public record Refuse(int status, List<String> challenges, String detail) implements Outcome {
    public Refuse {
      challenges = List.copyOf(challenges);
      Objects.requireNonNull(detail, "detail");
    }
  }

  /** The decision waits for a token's keys to be fetched; it completes with a {@link Pass} or a {@link Refuse}. */
  public record Pending(CompletionStage<Outcome> outcome) implements Outcome {
    public Pending {
      Objects.requireNonNull(outcome, "outcome");
    }
  }

  private static final Pass ANONYMOUS = new Pass(Caller.ANONYMOUS, List.of(), Optional.empty());

  private final ApiKeyDirectory keys;
  private final JwtVerifier tokens;
  private final Map<String, Optional<String>> issuerPlans;
  private final boolean acceptsKeys;
  private final boolean acceptsTokens;
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
      new Refuse(503, List.of(), "The consumer directory is not available; try again shortly.");
  private static final String BEARER = "Bearer realm=\"tollgate\"";

  /**
   * @param defaultHeader the file's {@code api_keys.header}, for routes that name no header of their own
   * @param tokens the verifier of the file's JWT issuers, or null if it declares none
   * @param issuerPlans the plan of each issuer's consumers, by {@code iss}
   */
  public RouteGuard(RouteAuth auth, String defaultHeader, ApiKeyDirectory keys, JwtVerifier tokens,
      Map<String, Optional<String>> issuerPlans) {
    Objects.requireNonNull(auth, "auth");
    this.keys = Objects.requireNonNull(keys, "keys");
    this.acceptsKeys = auth.accept().contains(RouteAuth.Credential.API_KEY);
    this.acceptsTokens = auth.accept().contains(RouteAuth.Credential.JWT);
    if (acceptsTokens && tokens == null) {
      throw new IllegalArgumentException("a route accepting jwt needs a verifier of the file's jwt.issuers");
    }
    this.tokens = tokens;
    this.issuerPlans = Map.copyOf(issuerPlans);
    this.acceptsAnonymous = auth.accept().contains(RouteAuth.Credential.ANONYMOUS);
    this.header = auth.apiKey().header().orElse(Objects.requireNonNull(defaultHeader, "defaultHeader"));
    this.query = auth.apiKey().query().orElse(null);
    this.allow = auth.allow();
    boolean keep = auth.apiKey().keep();
    this.dropHeaders = keep ? List.of() : List.of(header.toLowerCase(Locale.ROOT));
    this.dropQuery = keep ? Optional.empty() : auth.apiKey().query();
    String keyChallenge = "ApiKey header=\"" + header + "\"" + (query == null ? "" : ", query=\"" + query + "\"");
    List<String> challenges = new java.util.ArrayList<>();
    if (acceptsKeys) {
      challenges.add(keyChallenge);
    }
    if (acceptsTokens) {
      challenges.add(BEARER);
    }
    String keyWhere = "an API key in the " + header + " header" + (query == null ? "" : " or the " + query + " query parameter");
    this.missing = new Refuse(401, challenges, "This route needs "
        + (acceptsKeys && acceptsTokens ? keyWhere + ", or a bearer token" : acceptsKeys ? keyWhere : "a bearer token") + ".");
    this.wrongHeaderKey = new Refuse(401, List.of(keyChallenge), "The API key in " + header + " is not valid.");
    this.wrongQueryKey = new Refuse(401, List.of(keyChallenge),
        "The API key in the " + query + " query parameter is not valid.");
    this.forbidden = new Refuse(403, List.of(), "This consumer may not use this route.");
  }

  public Outcome check(RequestView request) {
    String key = null;
    boolean inQuery = false;
    if (acceptsKeys) {
      key = request.header(header);
      if (key == null && query != null) {
        key = request.queryParameter(query);
        inQuery = key != null;
      }
    }
    if (key == null) {
      String token = acceptsTokens ? bearerToken(request.header("Authorization")) : null;
      if (token != null) {
        CompletableFuture<JwtOutcome> verified = tokens.verify(token).toCompletableFuture();
        // Usually answered at once, from cached keys; only a key that must be fetched first waits.
        return verified.isDone() ? afterToken(verified.join()) : new Pending(verified.thenApply(this::afterToken));
      }
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

  private Outcome afterToken(JwtOutcome outcome) {
    if (outcome instanceof JwtOutcome.Invalid invalid) {
      // RFC 6750: the description says what is wrong, never what the token holds.
      return new Refuse(401, List.of("Bearer realm=\"tollgate\", error=\"invalid_token\", error_description=\""
          + invalid.description() + "\""), "The bearer token is not valid: " + invalid.description() + ".");
    }
    JwtOutcome.Verified verified = (JwtOutcome.Verified) outcome;
    Caller.Consumer consumer = new Caller.Consumer(verified.consumer(),
        issuerPlans.getOrDefault(verified.issuer(), Optional.empty()), verified.groups());
    if (allow.isPresent() && !allow.get().admits(consumer.id(), consumer.groups())) {
      return forbidden;
    }
    return new Pass(consumer, List.of(), Optional.empty());
  }

  /** The token of an {@code Authorization: Bearer ...} header, or null. */
  static String bearerToken(String authorization) {
    if (authorization == null || authorization.length() < 8 || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return null;
    }
    String token = authorization.substring(7).trim();
    return token.isEmpty() ? null : token;
  }
}
