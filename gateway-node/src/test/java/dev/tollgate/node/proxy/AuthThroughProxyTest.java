package dev.tollgate.node.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Routes' auth on one real node, seen from a real client and a real upstream: which callers a
 * route takes (401), who may use it (403), where the key is read, that it does not reach the
 * upstream, and that upstreams learn who called only from headers the gateway set.
 */
class AuthThroughProxyTest {

  static final ActorTestKit kit = ActorTestKit.create();
  static TestUpstream upstream;
  static ProxyFixture proxy;

  static final String ACME = "acme-key-0123456789";
  static final String ZED = "zed-key-0123456789";
  static final String OPS = "ops-key-0123456789";

  @BeforeAll
  static void start() {
    upstream = TestUpstream.start("app", kit.system());
    proxy = ProxyFixture.start("""
        upstreams:
          - name: app
            targets: [{url: %s}]
        consumers:
          - {id: acme, groups: [partners, emea], api_keys: [{key: %s}]}
          - {id: zed, api_keys: [{key: %s}]}
          - {id: ops, groups: [staff], api_keys: [{key: %s}]}
        consumer_headers:
          id: X-Caller
          groups: X-Caller-Groups
        routes:
          - name: open
            match: {paths: [/open]}
            upstream: app
          - name: keyed
            match: {paths: [/keyed]}
            upstream: app
            auth:
              accept: [api_key]
              api_key: {header: X-Key, query: key}
          - name: partners
            match: {paths: [/partners]}
            upstream: app
            auth:
              allow: {groups: [partners], consumers: [ops]}
          - name: kept
            match: {paths: [/kept]}
            upstream: app
            auth:
              api_key: {keep: true}
          - name: public
            match: {paths: [/public]}
            upstream: app
            auth:
              accept: [anonymous]
        """.formatted(upstream.url(), ACME, ZED, OPS));
  }

  @AfterAll
  static void stop() {
    proxy.close();
    upstream.close();
    kit.shutdownTestKit();
  }

  @Test
  void aRouteThatNeedsAKeyAnswers401WithAChallengeWithoutOne() {
    HttpResponse<String> missing = proxy.get("/keyed/a");
    assertThat(missing.statusCode()).isEqualTo(401);
    assertThat(missing.headers().firstValue("WWW-Authenticate")).hasValue("ApiKey header=\"X-Key\", query=\"key\"");
    assertThat(missing.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    assertThat(missing.body()).contains("urn:tollgate:problem:unauthorized",
        "This route needs an API key in the X-Key header or the key query parameter.");
    // The file's default header is not this route's.
    assertThat(proxy.get("/keyed/a", "X-Api-Key", ACME).statusCode()).isEqualTo(401);
  }

  @Test
  void aWrongKeyGets401ThatNamesNoKey() {
    HttpResponse<String> wrong = proxy.get("/keyed/a", "X-Key", "not-anyones-key-at-all");
    assertThat(wrong.statusCode()).isEqualTo(401);
    assertThat(wrong.body()).contains("The API key in X-Key is not valid.").doesNotContain("not-anyones-key-at-all");
    HttpResponse<String> wrongInQuery = proxy.get("/keyed/a?key=not-anyones-key-at-all");
    assertThat(wrongInQuery.statusCode()).isEqualTo(401);
    assertThat(wrongInQuery.body()).contains("The API key in the key query parameter is not valid.")
        .doesNotContain("not-anyones-key-at-all");
  }

  @Test
  void theKeyIsReadFromTheHeaderOrTheQueryAndNeverReachesTheUpstream() {
    assertThat(proxy.get("/keyed/a?x=1", "X-Key", ACME).statusCode()).isEqualTo(200);
    assertThat(upstream.last().header("X-Key")).isNull();
    assertThat(upstream.last().uri()).isEqualTo("/keyed/a?x=1");
    assertThat(upstream.last().header("X-Caller")).isEqualTo("acme");

    assertThat(proxy.get("/keyed/b?x=1&key=" + ZED + "&y=2&key=again").statusCode()).isEqualTo(200);
    assertThat(upstream.last().uri()).isEqualTo("/keyed/b?x=1&y=2");
    assertThat(upstream.last().header("X-Caller")).isEqualTo("zed");
    assertThat(upstream.last().header("X-Caller-Groups")).as("zed is in no group").isNull();
  }

  @Test
  void aRouteMayKeepTheKeyForItsUpstream() {
    assertThat(proxy.get("/kept", "X-Api-Key", ACME).statusCode()).isEqualTo(200);
    assertThat(upstream.last().header("X-Api-Key")).isEqualTo(ACME);
    assertThat(proxy.get("/open", "X-Api-Key", ACME).statusCode()).isEqualTo(200);
    assertThat(upstream.last().header("X-Api-Key")).isNull();
  }

  @Test
  void onlyAllowedConsumersAndGroupsGetThrough() {
    assertThat(proxy.get("/partners", "X-Api-Key", ACME).statusCode()).as("a member of partners").isEqualTo(200);
    assertThat(upstream.last().header("X-Caller-Groups")).isEqualTo("partners,emea");
    assertThat(proxy.get("/partners", "X-Api-Key", OPS).statusCode()).as("listed by id").isEqualTo(200);

    HttpResponse<String> forbidden = proxy.get("/partners", "X-Api-Key", ZED);
    assertThat(forbidden.statusCode()).isEqualTo(403);
    assertThat(forbidden.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    assertThat(forbidden.headers().firstValue("WWW-Authenticate")).isEmpty();
    assertThat(forbidden.body()).contains("urn:tollgate:problem:forbidden", "\"status\":403");

    HttpResponse<String> anonymous = proxy.get("/partners");
    assertThat(anonymous.statusCode()).as("no key: 401, not 403").isEqualTo(401);
    assertThat(anonymous.headers().firstValue("WWW-Authenticate")).hasValue("ApiKey header=\"X-Api-Key\"");
  }

  @Test
  void clientsCannotSayWhoTheyAre() {
    assertThat(proxy.get("/open", "X-Caller", "admin", "X-Caller-Groups", "staff").statusCode()).isEqualTo(200);
    assertThat(upstream.last().header("X-Caller")).as("anonymous: removed").isNull();
    assertThat(upstream.last().header("X-Caller-Groups")).isNull();

    assertThat(proxy.get("/open", "X-Api-Key", ZED, "X-Caller", "admin", "X-Caller-Groups", "staff").statusCode())
        .isEqualTo(200);
    assertThat(upstream.last().count("X-Caller")).isEqualTo(1);
    assertThat(upstream.last().header("X-Caller")).isEqualTo("zed");
    assertThat(upstream.last().header("X-Caller-Groups")).isNull();
  }

  @Test
  void aRouteForAnonymousCallersDoesNotLookAtKeys() {
    HttpResponse<String> r = proxy.get("/public", "X-Api-Key", "not-anyones-key-at-all");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(upstream.last().header("X-Caller")).isNull();
    assertThat(upstream.last().header("X-Api-Key")).as("an ordinary header here").isEqualTo("not-anyones-key-at-all");
  }
}
