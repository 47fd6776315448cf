package dev.tollgate.node.identity.jwt;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.OctetSequenceKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An issuer whose keys come from a real JWKS endpoint on loopback: caching as the response says, key
 * rotation, the refresh interval as a bound on fetches, and outages of the endpoint. Time is stepped on
 * an injected clock; where a test must know a background fetch is over, it asks with a token whose key
 * is missing, which shares the running fetch if there is one.
 */
class JwksIssuerTest {

  private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
  private static final String ISS = "https://login.example/tenant-1";
  private static final Duration MAX_AGE = Duration.ofMinutes(10);
  private static final Duration MIN_REFRESH = Duration.ofSeconds(30);

  private static RSAKey oldKey;
  private static RSAKey newKey;
  private static ECKey ecKey;
  /** Signs tokens for kids the endpoint never serves. */
  private static RSAKey stranger;

  private final SteppedClock clock = new SteppedClock(NOW);
  private JwksServer jwks;

  @BeforeAll
  static void keys() throws JOSEException {
    oldKey = new RSAKeyGenerator(2048).keyID("2026-01").generate();
    newKey = new RSAKeyGenerator(2048).keyID("2026-02").generate();
    ecKey = new ECKeyGenerator(Curve.P_256).keyID("ec-2026").generate();
    stranger = new RSAKeyGenerator(2048).generate();
  }

  @BeforeEach
  void server() throws IOException {
    jwks = JwksServer.start();
  }

  @AfterEach
  void stop() {
    jwks.close();
  }

  @Test
  void theFirstTokenFetchesTheKeysAndLaterOnesAreVerifiedFromTheCacheAtOnce() {
    jwks.serve(oldKey, ecKey);
    JwtVerifier verifier = verifier(MAX_AGE, MIN_REFRESH);

    assertThat(join(verifier.verify(token(oldKey)))).isInstanceOf(JwtOutcome.Verified.class);
    for (int i = 0; i < 5; i++) {
      CompletableFuture<JwtOutcome> cached = verifier.verify(token(oldKey)).toCompletableFuture();
      assertThat(cached).as("cached key: completed without a fetch").isDone();
      assertThat(cached.join()).isInstanceOf(JwtOutcome.Verified.class);
    }
    CompletableFuture<JwtOutcome> ec = verifier.verify(ecToken()).toCompletableFuture();
    assertThat(ec).isDone();
    assertThat(ec.join()).isInstanceOf(JwtOutcome.Verified.class);

    assertThat(jwks.fetches()).isEqualTo(1);
  }

  @Test
  void anUnknownKidAfterRotationIsFoundByARefresh() {
    jwks.serve(oldKey);
    JwtVerifier verifier = verifier(MAX_AGE, MIN_REFRESH);
    assertThat(join(verifier.verify(token(oldKey)))).isInstanceOf(JwtOutcome.Verified.class);

    jwks.serve(oldKey, newKey);
    clock.step(MIN_REFRESH);

    assertThat(join(verifier.verify(token(newKey)))).isInstanceOf(JwtOutcome.Verified.class);
    assertThat(jwks.fetches()).isEqualTo(2);
    assertThat(done(verifier.verify(token(oldKey)))).isInstanceOf(JwtOutcome.Verified.class);
    assertThat(jwks.fetches()).isEqualTo(2);
  }

  @Test
  void unknownKidsWithinTheRefreshIntervalDoNotFetch() {
    jwks.serve(oldKey);
    JwtVerifier verifier = verifier(MAX_AGE, MIN_REFRESH);
    assertThat(join(verifier.verify(token(oldKey)))).isInstanceOf(JwtOutcome.Verified.class);
    jwks.serve(oldKey, newKey);

    for (int i = 0; i < 20; i++) {
      assertThat(done(verifier.verify(token(newKey)))).isEqualTo(new JwtOutcome.Invalid("no key matches kid"));
    }
    clock.step(MIN_REFRESH.minusSeconds(1));
    assertThat(done(verifier.verify(token(newKey)))).isEqualTo(new JwtOutcome.Invalid("no key matches kid"));
    assertThat(jwks.fetches()).isEqualTo(1);

    clock.step(Duration.ofSeconds(1));
    assertThat(join(verifier.verify(token(newKey)))).isInstanceOf(JwtOutcome.Verified.class);
    assertThat(jwks.fetches()).isEqualTo(2);
  }

  @Test
  void aStormOfUnknownKidsFetchesOncePerInterval() {
    jwks.serve(oldKey);
    JwtVerifier verifier = verifier(MAX_AGE, MIN_REFRESH);
    assertThat(join(verifier.verify(token(oldKey)))).isInstanceOf(JwtOutcome.Verified.class);

    for (int second = 0; second <= 120; second++) {
      assertThat(join(verifier.verify(token(stranger("forged-" + second))))).isEqualTo(new JwtOutcome.Invalid("no key matches kid"));
      clock.step(Duration.ofSeconds(1));
    }

    // one fetch at the start, then one at 30, 60, 90 and 120 s: 121 misses, 4 fetches
    assertThat(jwks.fetches()).isEqualTo(1 + 4);
  }

  @Test
  void concurrentMissesShareOneFetch() {
    jwks.serve(oldKey, newKey);
    jwks.hold();
    JwtVerifier verifier = verifier(MAX_AGE, MIN_REFRESH);

    List<CompletableFuture<JwtOutcome>> waiting = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      waiting.add(verifier.verify(token(i % 2 == 0 ? oldKey : newKey)).toCompletableFuture());
    }
    assertThat(waiting).noneMatch(CompletableFuture::isDone);
    jwks.release();

    assertThat(waiting).allSatisfy(outcome -> assertThat(join(outcome)).isInstanceOf(JwtOutcome.Verified.class));
    assertThat(jwks.fetches()).isEqualTo(1);
  }

  @Test
  void keysAreRefetchedWhenTheResponsesMaxAgeRunsOut() {
    jwks.serve(List.of(oldKey), Map.of("Cache-Control", "public, max-age=120"));
    JwtVerifier verifier = verifier(MAX_AGE, Duration.ofSeconds(5));
    assertThat(join(verifier.verify(token(oldKey)))).isInstanceOf(JwtOutcome.Verified.class);

    clock.step(Duration.ofSeconds(119));
    assertThat(done(verifier.verify(token(oldKey)))).isInstanceOf(JwtOutcome.Verified.class);
    assertThat(jwks.fetches()).isEqualTo(1);

    jwks.serve(List.of(newKey), Map.of("Cache-Control", "max-age=120"));
    clock.step(Duration.ofSeconds(1));
    // stale: still answered at once from the cache, while the refresh runs behind it
    assertThat(done(verifier.verify(token(oldKey)))).isInstanceOf(JwtOutcome.Verified.class);
    awaitRefresh(verifier);
    assertThat(jwks.fetches()).isEqualTo(2);

    // the refreshed set no longer has the old key, and the new one is cached
    assertThat(done(verifier.verify(token(newKey)))).isInstanceOf(JwtOutcome.Verified.class);
    assertThat(done(verifier.verify(token(oldKey)))).isEqualTo(new JwtOutcome.Invalid("no key matches kid"));
    assertThat(jwks.fetches()).isEqualTo(2);
  }

  @Test
  void theResponsesMaxAgeIsCappedByTheIssuers() {
    jwks.serve(List.of(oldKey), Map.of("Cache-Control", "max-age=86400"));
    JwtVerifier verifier = verifier(Duration.ofMinutes(5), MIN_REFRESH);
    assertThat(join(verifier.verify(token(oldKey)))).isInstanceOf(JwtOutcome.Verified.class);

    clock.step(Duration.ofMinutes(5).minusSeconds(1));
    assertThat(done(verifier.verify(token(oldKey)))).isInstanceOf(JwtOutcome.Verified.class);
    assertThat(jwks.fetches()).isEqualTo(1);

    clock.step(Duration.ofSeconds(1));
    assertThat(done(verifier.verify(token(oldKey)))).isInstanceOf(JwtOutcome.Verified.class);
    awaitRefresh(verifier);
    assertThat(jwks.fetches()).isEqualTo(2);
  }

  @Test
  void cachedKeysKeepWorkingWhileTheEndpointAnswers5xx() {
    assertCachedKeysSurvive(new JwksServer.Answer(503, "busy".getBytes(StandardCharsets.UTF_8), Map.of(), false));
  }

  @Test
  void cachedKeysKeepWorkingWhileTheEndpointAnswersBadJson() {
    assertCachedKeysSurvive(new JwksServer.Answer(200, "{\"keys\": [".getBytes(StandardCharsets.UTF_8), Map.of(), false));
  }

  @Test
  void cachedKeysKeepWorkingWhileTheEndpointAnswersTooMuch() {
    assertCachedKeysSurvive(new JwksServer.Answer(200, oversizedJwks(), Map.of(), true));
  }

  @Test
  void cachedKeysKeepWorkingWhileTheEndpointIsDown() {
    jwks.serve(oldKey);
    JwtVerifier verifier = verifier(MAX_AGE, MIN_REFRESH);
    assertThat(join(verifier.verify(token(oldKey)))).isInstanceOf(JwtOutcome.Verified.class);
    jwks.close();

    for (int round = 0; round < 3; round++) {
      clock.step(MAX_AGE.plus(MIN_REFRESH));
      assertThat(done(verifier.verify(token(oldKey)))).isInstanceOf(JwtOutcome.Verified.class);
      assertThat(join(verifier.verify(token(newKey)))).isEqualTo(new JwtOutcome.Invalid("no key matches kid"));
    }
  }

  @Test
  void withNoKeyCachedAnEndpointThatIsDownFailsClosed() throws IOException {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    JwtVerifier verifier = verifier(URI.create("http://127.0.0.1:" + closedPort + "/jwks"), MAX_AGE, MIN_REFRESH, JwtVerifier.Limits.DEFAULT);

    assertThat(join(verifier.verify(token(oldKey)))).isEqualTo(new JwtOutcome.Invalid("signing keys are unavailable"));
  }

  @Test
  void withNoKeyCachedA5xxFailsClosedAndIsRetriedOnlyAfterTheInterval() {
    jwks.answer(new JwksServer.Answer(500, new byte[0], Map.of(), false));
    JwtVerifier verifier = verifier(MAX_AGE, MIN_REFRESH);

    assertThat(join(verifier.verify(token(oldKey)))).isEqualTo(new JwtOutcome.Invalid("signing keys are unavailable"));
    assertThat(done(verifier.verify(token(oldKey)))).isEqualTo(new JwtOutcome.Invalid("signing keys are unavailable"));
    assertThat(jwks.fetches()).isEqualTo(1);

    jwks.serve(oldKey);
    clock.step(MIN_REFRESH);
    assertThat(join(verifier.verify(token(oldKey)))).isInstanceOf(JwtOutcome.Verified.class);
    assertThat(jwks.fetches()).isEqualTo(2);
  }

  @Test
  void withNoKeyCachedAnEndpointThatDoesNotAnswerFailsClosedAfterTheTimeout() {
    jwks.serve(oldKey);
    jwks.hold();
    JwtVerifier.Limits quick = new JwtVerifier.Limits(8192, Duration.ofSeconds(2), Duration.ofMillis(300), 1024 * 1024);
    JwtVerifier verifier = verifier(jwks.url(), MAX_AGE, MIN_REFRESH, quick);

    assertThat(join(verifier.verify(token(oldKey)))).isEqualTo(new JwtOutcome.Invalid("signing keys are unavailable"));
  }

  @Test
  void withNoKeyCachedAnOversizedBodyFailsClosedWhetherOrNotItsLengthIsDeclared() {
    for (boolean chunked : new boolean[] {false, true}) {
      jwks.answer(new JwksServer.Answer(200, oversizedJwks(), Map.of(), chunked));
      JwtVerifier verifier = verifier(MAX_AGE, MIN_REFRESH);

      assertThat(join(verifier.verify(token(oldKey)))).as("chunked: %s", chunked)
          .isEqualTo(new JwtOutcome.Invalid("signing keys are unavailable"));
    }
  }

  @Test
  void aSecretKeyInTheJwksIsIgnoredAndTheOtherKeysServe() throws JOSEException {
    String body = new JWKSet(List.of(new OctetSequenceKeyGenerator(256).keyID("2026-01").generate(), oldKey.toPublicJWK()))
        .toString(false);
    jwks.answer(new JwksServer.Answer(200, body.getBytes(StandardCharsets.UTF_8), Map.of(), false));
    JwtVerifier verifier = verifier(MAX_AGE, MIN_REFRESH);

    assertThat(join(verifier.verify(token(oldKey)))).isInstanceOf(JwtOutcome.Verified.class);
  }

  @Test
  void aTokenWithoutKidIsCheckedAgainstTheKeysThatFitItsAlgorithm() {
    jwks.serve(ecKey, oldKey);
    JwtVerifier verifier = verifier(MAX_AGE, MIN_REFRESH);

    assertThat(join(verifier.verify(Tokens.signed(oldKey, JWSAlgorithm.RS256, null, claims()))))
        .isInstanceOf(JwtOutcome.Verified.class);
    assertThat(done(verifier.verify(Tokens.signed(newKey, JWSAlgorithm.RS256, null, claims()))))
        .isEqualTo(new JwtOutcome.Invalid("signature is invalid"));
  }

  @Test
  void aJwksThatLacksAKeyForTheAlgorithmSaysSo() {
    jwks.serve(oldKey);
    JwtVerifier verifier = verifier(MAX_AGE, MIN_REFRESH);

    assertThat(join(verifier.verify(Tokens.signed(ecKey, JWSAlgorithm.ES256, null, claims()))))
        .isEqualTo(new JwtOutcome.Invalid("no key fits alg ES256"));
  }

  // --- helpers ---

  private void assertCachedKeysSurvive(JwksServer.Answer failure) {
    jwks.serve(oldKey);
    JwtVerifier verifier = verifier(MAX_AGE, MIN_REFRESH);
    assertThat(join(verifier.verify(token(oldKey)))).isInstanceOf(JwtOutcome.Verified.class);
    jwks.answer(failure);

    clock.step(MAX_AGE.plusSeconds(1));
    assertThat(done(verifier.verify(token(oldKey)))).isInstanceOf(JwtOutcome.Verified.class);
    awaitRefresh(verifier);
    assertThat(jwks.fetches()).isEqualTo(2);

    clock.step(MAX_AGE.multipliedBy(6));
    assertThat(done(verifier.verify(token(oldKey)))).as("stale past max-age, still used").isInstanceOf(JwtOutcome.Verified.class);
    assertThat(join(verifier.verify(token(newKey)))).isEqualTo(new JwtOutcome.Invalid("no key matches kid"));
    assertThat(jwks.fetches()).isEqualTo(3);
  }

  /** Waits for a background refresh, if one runs: a token with a key never served shares it. */
  private void awaitRefresh(JwtVerifier verifier) {
    assertThat(join(verifier.verify(token(stranger("never-served"))))).isEqualTo(new JwtOutcome.Invalid("no key matches kid"));
  }

  private static RSAKey stranger(String kid) {
    return new RSAKey.Builder(stranger).keyID(kid).build();
  }

  private static byte[] oversizedJwks() {
    byte[] body = new byte[2 * 1024 * 1024];
    Arrays.fill(body, (byte) ' ');
    byte[] start = "{\"keys\":[]}".getBytes(StandardCharsets.UTF_8);
    System.arraycopy(start, 0, body, 0, start.length);
    return body;
  }

  private JwtVerifier verifier(Duration maxAge, Duration minRefresh) {
    return verifier(jwks.url(), maxAge, minRefresh, JwtVerifier.Limits.DEFAULT);
  }

  private JwtVerifier verifier(URI url, Duration maxAge, Duration minRefresh, JwtVerifier.Limits limits) {
    JwtIssuer issuer = JwtIssuer.of(ISS, new KeySource.Jwks(url, maxAge, minRefresh),
            Set.of(SignatureAlgorithm.RS256, SignatureAlgorithm.ES256))
        .withAudiences(Set.of("orders-api"));
    return JwtVerifier.create(List.of(issuer), clock, limits);
  }

  private String token(RSAKey key) {
    return Tokens.signed(key, JWSAlgorithm.RS256, key.getKeyID(), claims());
  }

  private String ecToken() {
    return Tokens.signed(ecKey, JWSAlgorithm.ES256, ecKey.getKeyID(), claims());
  }

  private Map<String, Object> claims() {
    // valid for a day of stepped time
    long now = clock.instant().getEpochSecond();
    return Map.of("iss", ISS, "sub", "svc-7", "aud", "orders-api", "exp", now + 86_400, "iat", now);
  }

  private static JwtOutcome done(java.util.concurrent.CompletionStage<JwtOutcome> stage) {
    CompletableFuture<JwtOutcome> outcome = stage.toCompletableFuture();
    assertThat(outcome).as("completed at once, without a fetch").isDone();
    return outcome.join();
  }

  private static JwtOutcome join(java.util.concurrent.CompletionStage<JwtOutcome> stage) {
    try {
      return stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("no outcome", e);
    }
  }
}
