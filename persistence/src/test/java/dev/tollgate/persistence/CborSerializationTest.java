package dev.tollgate.persistence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.Serializable;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.jackson.JacksonCborSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class CborSerializationTest {

  record LeaseGranted(String consumer, long tokens) implements CborSerializable {}

  record NotMarked(String value) implements Serializable {}

  static final ActorTestKit kit = ActorTestKit.create();

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void markedTypesRoundTripThroughJacksonCbor() throws Exception {
    Serialization serialization = SerializationExtension.get(kit.system().classicSystem());
    LeaseGranted event = new LeaseGranted("consumer-7", 120);
    Serializer serializer = serialization.findSerializerFor(event);
    assertThat(serializer).isInstanceOf(JacksonCborSerializer.class);
    byte[] bytes = serialization.serialize(event).get();
    String manifest = org.apache.pekko.serialization.Serializers.manifestFor(serializer, event);
    assertThat(serialization.deserialize(bytes, serializer.identifier(), manifest).get()).isEqualTo(event);
  }

  @Test
  void javaSerializationIsRefused() {
    Serialization serialization = SerializationExtension.get(kit.system().classicSystem());
    assertThatThrownBy(() -> serialization.serialize(new NotMarked("x")).get())
        .isInstanceOf(org.apache.pekko.serialization.DisabledJavaSerializer.JavaSerializationException.class)
        .hasMessageContaining("allow-java-serialization");
  }
}
