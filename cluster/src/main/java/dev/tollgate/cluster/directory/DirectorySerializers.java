package dev.tollgate.cluster.directory;

import com.hazelcast.nio.serialization.compact.CompactReader;
import com.hazelcast.nio.serialization.compact.CompactSerializer;
import com.hazelcast.nio.serialization.compact.CompactWriter;
import java.util.List;
import java.util.Optional;

/**
 * Hazelcast's Compact serialization of the directory's values: explicit fields, no reflection and
 * no Java serialization on the wire between members.
 */
final class DirectorySerializers {

  private DirectorySerializers() {}

  static final class Consumers implements CompactSerializer<DirectoryConsumer> {
    @Override
    public DirectoryConsumer read(CompactReader in) {
      String[] groups = in.readArrayOfString("groups");
      return new DirectoryConsumer(in.readString("id"), Optional.ofNullable(in.readString("plan")),
          groups == null ? List.of() : List.of(groups));
    }

    @Override
    public void write(CompactWriter out, DirectoryConsumer c) {
      out.writeString("id", c.id());
      out.writeString("plan", c.plan().orElse(null));
      out.writeArrayOfString("groups", c.groups().toArray(String[]::new));
    }

    @Override
    public String getTypeName() {
      return "tollgate.consumer";
    }

    @Override
    public Class<DirectoryConsumer> getCompactClass() {
      return DirectoryConsumer.class;
    }
  }

  static final class Keys implements CompactSerializer<DirectoryKey> {
    @Override
    public DirectoryKey read(CompactReader in) {
      return new DirectoryKey(in.readString("consumerId"), in.readString("keyId"), in.readInt64("createdAt"));
    }

    @Override
    public void write(CompactWriter out, DirectoryKey k) {
      out.writeString("consumerId", k.consumerId());
      out.writeString("keyId", k.keyId());
      out.writeInt64("createdAt", k.createdAtMillis());
    }

    @Override
    public String getTypeName() {
      return "tollgate.apiKey";
    }

    @Override
    public Class<DirectoryKey> getCompactClass() {
      return DirectoryKey.class;
    }
  }
}
