package dev.tollgate.node.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Bearer JWTs on one real node: a JWKS served by a real local server and fetched on the first
 * token, an HMAC issuer, the consumer and groups taken from the claims, and the RFC 6750 answers.
 */
class JwtThroughProxyTest {

  static final ActorTestKit kit = ActorTestKit.create();
  static final String SECRET = "an-hmac-secret-of-at-least-32-bytes-long";
  static TestUpstream upstream;
  static ProxyFixture proxy;
  static HttpServer jwks;
  static RSAKey signingKey;
  static final AtomicInteger fetches = new AtomicInteger();

  @BeforeAll
  static void start() throws Exception {
    signingKey = new RSAKeyGenerator(2048).keyID("k1").generate();
    System.setProperty("sun.net.httpserver.nodelay", "true");
    jwks = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    jwks.createContext("/jwks", exchange -> {
      fetches.incrementAndGet();
      byte[] body = new JWKSet(signingKey.toPublicJWK()).toString().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    jwks.start();
    upstream = TestUpstream.start("app", kit.system());
    proxy = ProxyFixture.start("""
        upstreams:
          - name: app
            targets: [{url: %s}]
        consumers:
          - {id: keyed, api_keys: [{key: keyed-key-0123456789}]}
        jwt:
          issuers:
            - issuer: https://idp.test/
              audiences: [api]
              algorithms: [RS256]
              jwks_url: http://127.0.0.1:%d/jwks
              groups_claim: scope
            - issuer: https://hmac.test/
              algorithms: [HS256]
              hmac_secret: %s
        routes:
          - name: tokens
            match: {paths: [/tokens]}
            upstream: app
            auth:
              accept: [jwt]
          - name: either
            match: {paths: [/either]}
            upstream: app
            auth:
              accept: [api_key, jwt]
          - name: partners
            match: {paths: [/partners]}
            upstream: app
            auth:
              accept: [jwt]
              allow: {groups: [partners]}
        """.formatted(upstream.url(), jwks.getAddress().getPort(), SECRET));
  }

  @AfterAll
  static void stop() {
    proxy.close();
    upstream.close();
    jwks.stop(0);
    kit.shutdownTestKit();
  }

  static JWTClaimsSet.Builder claims(String issuer, String subject) {
    Instant now = Instant.now();
    return new JWTClaimsSet.Builder().issuer(issuer).subject(subject).audience("api")
        .issueTime(Date.from(now)).expirationTime(Date.from(now.plusSeconds(300)));
  }

  static String rs256(JWTClaimsSet claims) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("k1").type(JOSEObjectType.JWT).build(),
        claims);
    jwt.sign(new RSASSASigner(signingKey));
    return jwt.serialize();
  }

  static String hs256(JWTClaimsSet claims) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
    jwt.sign(new MACSigner(SECRET.getBytes(StandardCharsets.UTF_8)));
    return jwt.serialize();
  }

  @Test
  void aGoodTokenNamesTheConsumerAndItsGroupsToTheUpstream() throws Exception {
    String token = rs256(claims("https://idp.test/", "alice").claim("scope", "read partners").build());
    HttpResponse<String> r = proxy.get("/tokens/a", "Authorization", "Bearer " + token);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(upstream.last().header("X-Consumer-Id")).isEqualTo("alice");
    assertThat(upstream.last().header("X-Consumer-Groups")).isEqualTo("read,partners");
    assertThat(upstream.last().header("Authorization")).as("the token still reaches the upstream").isEqualTo("Bearer " + token);
    assertThat(proxy.get("/partners", "Authorization", "Bearer " + token).statusCode()).isEqualTo(200);
    assertThat(fetches.get()).as("keys fetched once, then cached").isEqualTo(1);

    String hmac = hs256(claims("https://hmac.test/", "bob").build());
    assertThat(proxy.get("/tokens/b", "Authorization", "Bearer " + hmac).statusCode()).isEqualTo(200);
    assertThat(upstream.last().header("X-Consumer-Id")).isEqualTo("bob");
  }

  @Test
  void badTokensGet401WithAnInvalidTokenChallengeThatNeverEchoesThem() throws Exception {
    String expired = rs256(claims("https://idp.test/", "alice")
        .expirationTime(Date.from(Instant.now().minusSeconds(600))).build());
    HttpResponse<String> r = proxy.get("/tokens", "Authorization", "Bearer " + expired);
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(r.headers().firstValue("WWW-Authenticate").orElseThrow())
        .matches("Bearer realm=\"tollgate\", error=\"invalid_token\", error_description=\"token expired 60[0-9] s ago\"");
    assertThat(r.body()).contains("urn:tollgate:problem:unauthorized").doesNotContain(expired);

    String wrongAudience = rs256(claims("https://idp.test/", "alice").audience("other").build());
    assertThat(proxy.get("/tokens", "Authorization", "Bearer " + wrongAudience).headers().firstValue("WWW-Authenticate"))
        .hasValue("Bearer realm=\"tollgate\", error=\"invalid_token\", error_description=\"aud does not match\"");

    String header = Base64.getUrlEncoder().withoutPadding().encodeToString("{\"alg\":\"none\"}".getBytes(StandardCharsets.UTF_8));
    String payload = Base64.getUrlEncoder().withoutPadding().encodeToString(
        claims("https://hmac.test/", "mallory").build().toString().getBytes(StandardCharsets.UTF_8));
    HttpResponse<String> none = proxy.get("/tokens", "Authorization", "Bearer " + header + "." + payload + ".");
    assertThat(none.statusCode()).isEqualTo(401);
    assertThat(none.headers().firstValue("WWW-Authenticate").orElseThrow()).contains("alg none is not accepted");

    String forged = hs256(claims("https://idp.test/", "mallory").build());
    HttpResponse<String> confused = proxy.get("/tokens", "Authorization", "Bearer " + forged);
    assertThat(confused.statusCode()).as("HS256 for an RSA issuer").isEqualTo(401);
    assertThat(confused.headers().firstValue("WWW-Authenticate").orElseThrow())
        .contains("alg HS256 is not allowed for this issuer");
  }

  @Test
  void withoutACredentialEachAcceptedKindIsChallenged() {
    HttpResponse<String> tokensOnly = proxy.get("/tokens");
    assertThat(tokensOnly.statusCode()).isEqualTo(401);
    assertThat(tokensOnly.headers().allValues("WWW-Authenticate")).containsExactly("Bearer realm=\"tollgate\"");
    HttpResponse<String> either = proxy.get("/either");
    assertThat(either.statusCode()).isEqualTo(401);
    assertThat(either.headers().allValues("WWW-Authenticate"))
        .containsExactlyInAnyOrder("ApiKey header=\"X-Api-Key\"", "Bearer realm=\"tollgate\"");
    assertThat(either.body()).contains("This route needs an API key in the X-Api-Key header, or a bearer token.");
    assertThat(proxy.get("/either", "X-Api-Key", "keyed-key-0123456789").statusCode()).isEqualTo(200);
  }

  @Test
  void aTokenOutsideTheAllowedGroupsGets403() throws Exception {
    String token = rs256(claims("https://idp.test/", "carol").claim("scope", "read").build());
    HttpResponse<String> r = proxy.get("/partners", "Authorization", "Bearer " + token);
    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(r.body()).contains("urn:tollgate:problem:forbidden");
    assertThat(r.headers().allValues("WWW-Authenticate")).isEmpty();
  }
}
