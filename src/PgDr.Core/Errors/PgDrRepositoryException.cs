namespace PgDr.Errors;

/// <summary>
/// An archive repository (filesystem, S3, Azure Blob) failed or refused an operation. <see cref="PgDrException.Target"/>
/// is the repository's configured name; the message names the repository and the key, never a secret.
/// </summary>
public sealed class PgDrRepositoryException(string errorId, PgDrErrorCategory category, string message, string repository, Exception? innerException = null)
    : PgDrException(errorId, category, message, repository, innerException)
{
    /// <summary>The configured name of the repository (e.g. region-b).</summary>
    public string Repository { get; } = repository;
}
