package dev.tollgate.node.identity.jwt;

import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.util.JSONObjectUtils;
import java.net.URI;
import java.text.ParseException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** Where an issuer's signature keys come from: its JWKS endpoint, keys written in the config, or a shared secret. */
public sealed interface KeySource permits KeySource.Jwks, KeySource.StaticKeys, KeySource.HmacSecret {

  /**
   * Public keys fetched from a JWKS URL and cached as the response's {@code Cache-Control: max-age} (or
   * {@code Expires}) says, but never longer than {@code maxAge}. A token naming an unknown {@code kid}
   * refetches the set, at most once per {@code minRefreshInterval}. Cached keys outlive a failing endpoint.
   */
  record Jwks(URI url, Duration maxAge, Duration minRefreshInterval) implements KeySource {

    public static final Duration DEFAULT_MAX_AGE = Duration.ofMinutes(10);
    public static final Duration DEFAULT_MIN_REFRESH_INTERVAL = Duration.ofSeconds(30);

    public Jwks {
      Objects.requireNonNull(url, "url");
      Objects.requireNonNull(maxAge, "maxAge");
      Objects.requireNonNull(minRefreshInterval, "minRefreshInterval");
      if (!url.isAbsolute() || !("https".equals(url.getScheme()) || "http".equals(url.getScheme())) || url.getHost() == null) {
        throw new IllegalArgumentException("JWKS url " + url + " is not an absolute http or https URL");
      }
      if (maxAge.isNegative() || maxAge.isZero()) {
        throw new IllegalArgumentException("JWKS maxAge " + maxAge + " must be positive");
      }
      if (minRefreshInterval.isNegative() || minRefreshInterval.isZero()) {
        throw new IllegalArgumentException("JWKS minRefreshInterval " + minRefreshInterval + " must be positive");
      }
    }

    /** A JWKS source with the default max age (10 min) and minimum refresh interval (30 s). */
    public static Jwks of(URI url) {
      return new Jwks(url, DEFAULT_MAX_AGE, DEFAULT_MIN_REFRESH_INTERVAL);
    }
  }

  /**
   * Public keys given in the config. Only RSA, EC (P-256, P-384, P-521) and Ed25519 keys are taken; private
   * parts, if given, are dropped. HMAC secrets belong in {@link HmacSecret}, so an {@code oct} key is refused.
   */
  record StaticKeys(List<JWK> keys) implements KeySource {

    public StaticKeys {
      Objects.requireNonNull(keys, "keys");
      if (keys.isEmpty()) {
        throw new IllegalArgumentException("static keys: at least one key is needed");
      }
      List<JWK> publicKeys = new ArrayList<>(keys.size());
      for (int i = 0; i < keys.size(); i++) {
        JWK key = Objects.requireNonNull(keys.get(i), "keys[" + i + "]");
        if (VerificationKey.of(key).isEmpty()) {
          throw new IllegalArgumentException("static keys[" + i + "]: a " + key.getKeyType()
              + " key is not usable (expected RSA, EC on P-256, P-384 or P-521, or OKP on Ed25519)");
        }
        publicKeys.add(key.toPublicJWK());
      }
      keys = List.copyOf(publicKeys);
    }

    /** Keys from the JSON of one JWK or of a JWK Set ({@code {"keys": [...]}}). */
    public static StaticKeys parseJwk(String json) {
      Objects.requireNonNull(json, "json");
      try {
        Map<String, Object> object = JSONObjectUtils.parse(json);
        return object.containsKey("keys")
            ? new StaticKeys(JWKSet.parse(object).getKeys())
            : new StaticKeys(List.of(JWK.parse(object)));
      } catch (ParseException e) {
        throw new IllegalArgumentException("static keys: not a JWK or JWK Set (" + e.getMessage() + ")", e);
      }
    }

    /** Keys from one or more PEM blocks, each a {@code PUBLIC KEY} (SubjectPublicKeyInfo) or a {@code CERTIFICATE}. */
    public static StaticKeys parsePem(String pem) {
      return new StaticKeys(PemPublicKeys.parse(Objects.requireNonNull(pem, "pem")));
    }
  }

  /**
   * A secret shared with the issuer, for HS256, HS384 and HS512 only. It must be at least as long as the
   * hash of every HS algorithm the issuer allows (32, 48, 64 bytes). Never printed.
   */
  record HmacSecret(byte[] secret) implements KeySource {

    public HmacSecret {
      Objects.requireNonNull(secret, "secret");
      if (secret.length < SignatureAlgorithm.HS256.minSecretBytes()) {
        throw new IllegalArgumentException("HMAC secret has " + secret.length + " bytes; at least "
            + SignatureAlgorithm.HS256.minSecretBytes() + " are needed");
      }
      secret = secret.clone();
    }

    @Override
    public byte[] secret() {
      return secret.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof HmacSecret other && Arrays.equals(secret, other.secret);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(secret);
    }

    @Override
    public String toString() {
      return "HmacSecret[" + secret.length + " bytes]";
    }
  }
}
