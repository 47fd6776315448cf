package dev.tollgate.persistence;

/**
 * Marks every message, event and state that crosses nodes or is stored: bound to Jackson CBOR in
 * this module's {@code reference.conf}. Java serialization is never used.
 */
public interface CborSerializable {}
