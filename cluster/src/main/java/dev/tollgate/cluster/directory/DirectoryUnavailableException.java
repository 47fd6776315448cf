package dev.tollgate.cluster.directory;

/** The directory could not store or read a change: its database or its cluster is not there. */
public final class DirectoryUnavailableException extends RuntimeException {

  public DirectoryUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
