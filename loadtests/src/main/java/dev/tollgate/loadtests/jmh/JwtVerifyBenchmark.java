package dev.tollgate.loadtests.jmh;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import dev.tollgate.node.identity.jwt.JwtIssuer;
import dev.tollgate.node.identity.jwt.JwtOutcome;
import dev.tollgate.node.identity.jwt.JwtVerifier;
import dev.tollgate.node.identity.jwt.KeySource;
import dev.tollgate.node.identity.jwt.SignatureAlgorithm;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A bearer token's whole verification, as a route that accepts {@code jwt} makes it: parse, pick
 * the issuer by {@code iss}, find the key by {@code kid}, check the signature, then {@code exp},
 * {@code iat}, {@code aud} and the consumer claim. The RS256 and ES256 keys come from a JWKS that a
 * real HTTP server on loopback serves; it is fetched once, in the setup, so every measured
 * verification uses the cached key, as a gateway's do between refreshes. HS256 uses a configured
 * secret. The JWKS server counts its requests, and the run fails if the measured part fetched again.
 * These full checks run on a verifier that remembers no tokens; {@code rs256Remembered} runs on one
 * with the default memory of verified tokens, so that a client's repeated token costs a lookup.
 *
 * <p>About 65 s in all: 4 benchmarks × (5 × 1 s warm-up + 5 × 2 s measured), one fork.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 2)
public class JwtVerifyBenchmark {

  static final String ISSUER = "https://idp.bench.test/";
  static final String AUDIENCE = "orders-api";

  @State(Scope.Benchmark)
  public static class Tokens {
    HttpServer jwksServer;
    final AtomicInteger jwksFetches = new AtomicInteger();
    JwtVerifier verifier;
    JwtVerifier remembering;
    String rs256;
    String es256;
    String hs256;

    @Setup(Level.Trial)
    public void start() throws Exception {
      RSAKey rsa = new RSAKeyGenerator(2048).keyID("rsa-1").generate();
      ECKey ec = new ECKeyGenerator(Curve.P_256).keyID("ec-1").generate();
      byte[] jwks = new JWKSet(List.of(rsa.toPublicJWK(), ec.toPublicJWK())).toString().getBytes(StandardCharsets.UTF_8);
      jwksServer = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
      jwksServer.createContext("/jwks.json", exchange -> {
        jwksFetches.incrementAndGet();
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.getResponseHeaders().add("Cache-Control", "max-age=3600");
        exchange.sendResponseHeaders(200, jwks.length);
        exchange.getResponseBody().write(jwks);
        exchange.close();
      });
      jwksServer.start();
      URI url = URI.create("http://127.0.0.1:" + jwksServer.getAddress().getPort() + "/jwks.json");
      byte[] secret = "a shared secret of at least 32 bytes, for HS256".getBytes(StandardCharsets.UTF_8);
      String hsIssuer = "https://hmac.bench.test/";
      List<JwtIssuer> issuers = List.of(
          JwtIssuer.of(ISSUER, new KeySource.Jwks(url, Duration.ofHours(1), Duration.ofSeconds(30)),
              Set.of(SignatureAlgorithm.RS256, SignatureAlgorithm.ES256)).withAudiences(Set.of(AUDIENCE)),
          JwtIssuer.of(hsIssuer, new KeySource.HmacSecret(secret), Set.of(SignatureAlgorithm.HS256))
              .withAudiences(Set.of(AUDIENCE)));
      JwtVerifier.Limits d = JwtVerifier.Limits.DEFAULT;
      verifier = JwtVerifier.create(issuers, Clock.systemUTC(), new JwtVerifier.Limits(d.maxTokenBytes(),
          d.jwksConnectTimeout(), d.jwksRequestTimeout(), d.maxJwksBytes(), 0, d.acceptedTtl()));
      remembering = JwtVerifier.create(issuers, Clock.systemUTC());
      rs256 = sign(new RSASSASigner(rsa), JWSAlgorithm.RS256, "rsa-1", ISSUER);
      es256 = sign(new ECDSASigner(ec), JWSAlgorithm.ES256, "ec-1", ISSUER);
      hs256 = sign(new MACSigner(secret), JWSAlgorithm.HS256, null, hsIssuer);
      for (String token : List.of(rs256, es256, hs256)) {
        for (JwtVerifier v : List.of(verifier, remembering)) {
          JwtOutcome outcome = v.verify(token).toCompletableFuture().get(10, TimeUnit.SECONDS);
          if (!(outcome instanceof JwtOutcome.Verified)) {
            throw new IllegalStateException("a benchmark token does not verify: " + outcome);
          }
        }
      }
      if (jwksFetches.get() != 2) {
        throw new IllegalStateException("expected one JWKS fetch per verifier in the setup, saw " + jwksFetches.get());
      }
    }

    private static String sign(JWSSigner signer, JWSAlgorithm alg, String kid, String issuer) throws Exception {
      Instant now = Instant.now();
      JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer(issuer).subject("consumer-42").audience(AUDIENCE)
          .issueTime(Date.from(now)).expirationTime(Date.from(now.plus(Duration.ofDays(1))))
          .claim("scope", "orders:read orders:write").build();
      SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).type(JOSEObjectType.JWT).keyID(kid).build(), claims);
      jwt.sign(signer);
      return jwt.serialize();
    }

    /** The cached key must have served every measured verification. */
    @TearDown(Level.Trial)
    public void stop() {
      jwksServer.stop(0);
      if (jwksFetches.get() != 2) {
        throw new IllegalStateException("the JWKS was fetched again during the run (" + jwksFetches.get()
            + " fetches): the figures are not of a cached key");
      }
    }
  }

  @Benchmark
  public JwtOutcome rs256WithACachedJwksKey(Tokens t) {
    return t.verifier.verify(t.rs256).toCompletableFuture().join();
  }

  @Benchmark
  public JwtOutcome es256WithACachedJwksKey(Tokens t) {
    return t.verifier.verify(t.es256).toCompletableFuture().join();
  }

  @Benchmark
  public JwtOutcome hs256WithAConfiguredSecret(Tokens t) {
    return t.verifier.verify(t.hs256).toCompletableFuture().join();
  }

  /** The same RS256 token again, on a verifier that remembers verified tokens: a lookup. */
  @Benchmark
  public JwtOutcome rs256Remembered(Tokens t) {
    return t.remembering.verify(t.rs256).toCompletableFuture().join();
  }
}
