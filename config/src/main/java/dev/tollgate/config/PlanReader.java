package dev.tollgate.config;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Reads one entry of {@code plans} into a {@link Plan}, reporting every problem it finds. */
final class PlanReader {

  static final List<String> KEYS = List.of("name", "limits", "on_unavailable");

  /** Where each plan name was first used, to report duplicates. */
  private final Map<String, String> namesSeen = new LinkedHashMap<>();

  Optional<Plan> read(ConfigNode node) {
    int errorsBefore = node.tree().errorCount();
    Optional<Mapping> found = node.mapping("a plan, a mapping with at least name and limits", KEYS);
    if (found.isEmpty()) {
      return Optional.empty();
    }
    Mapping m = found.get();
    String name = m.require("name", UpstreamReader.NAME_EXPECTED).flatMap(this::uniqueName).orElse(null);
    List<Limit> limits = m.require("limits", LimitReader.LIMITS).flatMap(LimitReader::limits).orElse(List.of());
    OnUnavailable onUnavailable =
        m.get("on_unavailable").flatMap(LimitReader::onUnavailable).orElse(OnUnavailable.LOCAL_SHARE);
    if (node.tree().errorCount() > errorsBefore) {
      return Optional.empty();
    }
    return Optional.of(new Plan(name, limits, onUnavailable));
  }

  /**
   * The name of a plan of this file.
   *
   * @param planNames every name written for a plan, valid or not, in file order
   */
  static Optional<String> reference(ConfigNode node, List<String> planNames) {
    return node.string("the name of a plan").filter(name -> {
      if (planNames.contains(name)) {
        return true;
      }
      node.invalid(planNames.isEmpty()
          ? "the name of a plan, but none are defined"
          : "one of the plan names: " + String.join(", ", planNames));
      return false;
    });
  }

  private Optional<String> uniqueName(ConfigNode node) {
    return node.matching(UpstreamReader.NAME, UpstreamReader.NAME_EXPECTED).filter(name -> {
      String first = namesSeen.putIfAbsent(name, YamlTree.display(node.path()));
      if (first != null) {
        node.invalid("a name no other plan has; " + first + " has it");
        return false;
      }
      return true;
    });
  }
}
