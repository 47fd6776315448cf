package dev.tollgate.persistence;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class DatabaseSchemaTest {

  @ParameterizedTest
  @EnumSource(Database.Dialect.class)
  void everyCreateStatementOfThePluginDdlIsMadeIdempotent(Database.Dialect dialect) {
    List<String> statements = DatabaseSchema.statements(dialect);
    assertThat(statements).hasSizeGreaterThanOrEqualTo(6);
    for (String s : statements) {
      assertThat(s).as(s).startsWithIgnoringCase("CREATE");
      assertThat(s.toUpperCase()).as(s).contains("IF NOT EXISTS").doesNotContain("CONCURRENTLY");
    }
    assertThat(statements).anyMatch(s -> s.contains("event_journal_ordering_idx") && s.toUpperCase().contains("INDEX IF NOT EXISTS"));
  }
}
