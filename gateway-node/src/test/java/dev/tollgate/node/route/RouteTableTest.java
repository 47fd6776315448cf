package dev.tollgate.node.route;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.config.FieldMatch;
import dev.tollgate.config.PathMatch;
import dev.tollgate.config.Route;
import dev.tollgate.config.RouteMatch;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class RouteTableTest {

  record Req(String host, String path, String method, Map<String, String> headers, Map<String, String> query)
      implements RequestView {
    static Req of(String host, String path, String method) {
      return new Req(host, path, method, Map.of(), Map.of());
    }

    @Override
    public String header(String name) {
      return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name)).map(Map.Entry::getValue).findFirst().orElse(null);
    }

    @Override
    public String queryParameter(String name) {
      return query.get(name);
    }
  }

  static Route route(String name, RouteMatch match) {
    return Route.of(name, match, "up");
  }

  /** A table exercising every ordering rule; each row of the test below names the winner. */
  static final RouteTable<String> TABLE = RouteTable.compile(List.of(
      route("catch-all", RouteMatch.paths(PathMatch.prefix("/"))),
      route("api", RouteMatch.paths(PathMatch.prefix("/api"))),
      route("api-users", RouteMatch.paths(PathMatch.prefix("/api/users"))),
      route("api-users-exact", RouteMatch.paths(PathMatch.exact("/api/users"))),
      route("api-user-id", RouteMatch.paths(PathMatch.regex("/api/users/[0-9]+"))),
      route("api-post", RouteMatch.paths(PathMatch.prefix("/api")).withMethods("POST")),
      route("beta", RouteMatch.paths(PathMatch.prefix("/api")).withHeaders(FieldMatch.exact("X-Beta", "1"))),
      route("debug", RouteMatch.paths(PathMatch.prefix("/api")).withQuery(FieldMatch.present("debug"))),
      route("wild-host", RouteMatch.paths(PathMatch.prefix("/")).withHosts("*.example.com")),
      route("deep-wild-host", RouteMatch.paths(PathMatch.prefix("/")).withHosts("*.eu.example.com")),
      route("exact-host", RouteMatch.paths(PathMatch.prefix("/")).withHosts("shop.example.com")),
      route("urgent", RouteMatch.paths(PathMatch.prefix("/urgent"))).withPriority(10),
      route("urgent-shadow", RouteMatch.paths(PathMatch.exact("/urgent/now")).withHosts("shop.example.com")),
      route("first-of-twins", RouteMatch.paths(PathMatch.prefix("/twins"))),
      route("second-of-twins", RouteMatch.paths(PathMatch.prefix("/twins")))),
      Route::name);

  @ParameterizedTest(name = "{0} {1} {2} → {3}")
  @CsvSource({
      "gw.local, /, GET, catch-all",
      "gw.local, /apix, GET, catch-all",          // prefix only at a segment boundary
      "gw.local, /api, GET, api",
      "gw.local, /api/, GET, api",
      "gw.local, /api/orders, GET, api",
      "gw.local, /api/users, GET, api-users-exact", // exact beats prefix
      "gw.local, /api/users/7, GET, api-user-id",   // regex beats prefix
      "gw.local, /api/users/x, GET, api-users",     // longest prefix
      "gw.local, /api/orders, POST, api-post",      // more conditions win among equal paths
      "a.example.com, /api, GET, wild-host",        // any host-specific route beats hostless ones
      "a.eu.example.com, /, GET, deep-wild-host",   // longer wildcard suffix first
      "example.com, /, GET, catch-all",             // *.example.com needs at least one label
      "shop.example.com, /, GET, exact-host",       // exact host beats wildcards
      "shop.example.com, /urgent/now, GET, urgent", // priority beats every specificity
      "gw.local, /twins/a, GET, first-of-twins",    // file order breaks full ties
  })
  void picksTheMostSpecificRoute(String host, String path, String method, String expected) {
    assertThat(TABLE.match(Req.of(host, path, method)).target()).isEqualTo(expected);
  }

  @Test
  void headerAndQueryConditions() {
    assertThat(TABLE.match(new Req("gw", "/api/x", "GET", Map.of("x-beta", "1"), Map.of())).target()).isEqualTo("beta");
    assertThat(TABLE.match(new Req("gw", "/api/x", "GET", Map.of("X-Beta", "2"), Map.of())).target()).isEqualTo("api");
    assertThat(TABLE.match(new Req("gw", "/api/x", "GET", Map.of(), Map.of("debug", ""))).target()).isEqualTo("debug");
  }

  @Test
  void noMatchIsNull() {
    RouteTable<String> table = RouteTable.compile(List.of(
        route("only", RouteMatch.paths(PathMatch.exact("/only")).withMethods("GET").withHosts("a.test"))), Route::name);
    assertThat(table.match(Req.of("a.test", "/only", "POST"))).isNull();
    assertThat(table.match(Req.of("b.test", "/only", "GET"))).isNull();
    assertThat(table.match(Req.of("a.test", "/only/x", "GET"))).isNull();
    assertThat(table.match(Req.of("a.test", "/only", "GET")).target()).isEqualTo("only");
  }

  @Test
  void stripPrefixForwardsTheRemainder() {
    Function<String, String> forwarded = path -> {
      RouteTable<String> t = RouteTable.compile(List.of(
          route("echo", RouteMatch.paths(PathMatch.prefix("/echo"))).withStripPrefix(true),
          route("slash", RouteMatch.paths(PathMatch.prefix("/s/"))).withStripPrefix(true),
          route("exact", RouteMatch.paths(PathMatch.exact("/exact"))).withStripPrefix(true)), Route::name);
      return t.match(Req.of("h", path, "GET")).forwardedPath(path);
    };
    assertThat(forwarded.apply("/echo/a")).isEqualTo("/a");
    assertThat(forwarded.apply("/echo")).isEqualTo("/");
    assertThat(forwarded.apply("/echo/")).isEqualTo("/");
    assertThat(forwarded.apply("/s/x/y")).isEqualTo("/x/y");
    assertThat(forwarded.apply("/exact")).isEqualTo("/");
  }
}
