package dev.tollgate.node.admin;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A consumer as an admin request writes it, {@code {"id": ..., "plan": ..., "groups": [...]}},
 * checked by the config file's rules for consumers: the same id and group names, and a plan that
 * the node's current config declares. {@link #read} reports every mistake at once.
 *
 * @param plan none when the body has no plan or {@code null}
 */
record ConsumerBody(String id, Optional<String> plan, List<String> groups) {

  /** The config file's rule for consumer ids (ConsumerReader.ID), checked against it in a test. */
  static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@-]{0,127}");
  static final String ID_EXPECTED =
      "an id of 1 to 128 letters, digits, '.', '_', '@' or '-', starting with a letter or digit";
  /** The config file's rule for group names (AuthReader.GROUP). */
  static final Pattern GROUP = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}");
  static final String GROUP_EXPECTED =
      "a group name of 1 to 128 letters, digits, '.', '_', ':', '@' or '-', starting with a letter or digit";

  private static final int SHOWN_MAX = 80;

  ConsumerBody {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(plan, "plan");
    groups = List.copyOf(Objects.requireNonNull(groups, "groups"));
  }

  /** What a body read into: a consumer, or every error found in it. */
  record Read(Optional<ConsumerBody> consumer, List<String> errors) {}

  /**
   * Reads a body of {@code POST /consumers} ({@code pathId} empty: the body must name the id) or of
   * {@code PUT /consumers/{id}} (the body may repeat the path's id, and must not name another).
   *
   * @param planNames the plans of the node's current config, in file order
   */
  static Read read(JsonNode body, Optional<String> pathId, List<String> planNames) {
    List<String> errors = new ArrayList<>();
    List<String> fields = List.of("id", "plan", "groups");
    if (!body.isObject()) {
      errors.add("(body): " + (body.isMissingNode() ? "empty" : shown(body)) + " (expected: a JSON object with " + (pathId.isEmpty() ? "id and " : "")
          + "optionally plan and groups)");
      return new Read(Optional.empty(), errors);
    }
    for (Iterator<String> names = body.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!fields.contains(name)) {
        errors.add(name + ": unknown field (expected one of: " + String.join(", ", fields) + ")");
      }
    }
    String id = id(body.get("id"), pathId, errors);
    Optional<String> plan = plan(body.get("plan"), planNames, errors);
    List<String> groups = groups(body.get("groups"), errors);
    return errors.isEmpty()
        ? new Read(Optional.of(new ConsumerBody(id, plan, groups)), List.of())
        : new Read(Optional.empty(), errors);
  }

  private static String id(JsonNode node, Optional<String> pathId, List<String> errors) {
    if (node == null || node.isNull()) {
      if (pathId.isPresent()) {
        return pathId.get();
      }
      errors.add("id: missing (expected: " + ID_EXPECTED + ")");
      return null;
    }
    if (!node.isTextual() || !ID.matcher(node.textValue()).matches()) {
      errors.add("id: " + shown(node) + " (expected: " + ID_EXPECTED + ")");
      return null;
    }
    if (pathId.isPresent() && !pathId.get().equals(node.textValue())) {
      errors.add("id: " + shown(node) + " (expected: the path's id \"" + pathId.get() + "\", or no id; an id is not"
          + " changed, create a consumer under the new id instead)");
      return null;
    }
    return node.textValue();
  }

  private static Optional<String> plan(JsonNode node, List<String> planNames, List<String> errors) {
    if (node == null || node.isNull()) {
      return Optional.empty();
    }
    if (!node.isTextual() || !planNames.contains(node.textValue())) {
      errors.add("plan: " + shown(node) + " (expected: " + (planNames.isEmpty()
          ? "no plan, since the config declares none"
          : "one of the plan names: " + String.join(", ", planNames)) + ")");
      return Optional.empty();
    }
    return Optional.of(node.textValue());
  }

  private static List<String> groups(JsonNode node, List<String> errors) {
    if (node == null || node.isNull()) {
      return List.of();
    }
    if (!node.isArray()) {
      errors.add("groups: " + shown(node) + " (expected: a list of group names such as [\"partners\"])");
      return List.of();
    }
    Set<String> groups = new LinkedHashSet<>();
    for (int i = 0; i < node.size(); i++) {
      JsonNode g = node.get(i);
      if (!g.isTextual() || !GROUP.matcher(g.textValue()).matches()) {
        errors.add("groups[" + i + "]: " + shown(g) + " (expected: " + GROUP_EXPECTED + ")");
      } else if (!groups.add(g.textValue())) {
        errors.add("groups[" + i + "]: " + shown(g) + " (expected: each name once; " + g.textValue()
            + " is listed before)");
      }
    }
    return List.copyOf(groups);
  }

  /** A value as JSON, cut short: an error names it, it need not repeat a long one. */
  static String shown(JsonNode value) {
    String json = value.toString();
    return json.length() <= SHOWN_MAX ? json : json.substring(0, SHOWN_MAX) + "...";
  }
}
