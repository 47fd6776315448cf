package dev.tollgate.node.identity;

import dev.tollgate.cluster.directory.CredentialDirectory;
import dev.tollgate.cluster.directory.DirectoryUnavailableException;
import java.util.Objects;
import java.util.Optional;

/** The API keys of the cluster's directory, as the request path asks for them. */
public final class ClusterDirectoryKeys implements ApiKeyDirectory {

  private final CredentialDirectory directory;

  public ClusterDirectoryKeys(CredentialDirectory directory) {
    this.directory = Objects.requireNonNull(directory, "directory");
  }

  /** @throws DirectoryUnavailableException if the directory cannot answer (its member is not running) */
  @Override
  public Optional<Caller.Consumer> find(String apiKey) {
    try {
      return directory.consumerForApiKey(apiKey).map(c -> new Caller.Consumer(c.id(), c.plan(), c.groups()));
    } catch (DirectoryUnavailableException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new DirectoryUnavailableException("the consumer directory did not answer: " + e, e);
    }
  }
}
