using PgDr.Errors;

namespace PgDr.Archive.Repositories;

/// <summary>The repository failures with their ids and categories, in one place so every repository type reports alike.</summary>
internal static class RepositoryErrors
{
    public static PgDrRepositoryException Unavailable(string repository, string detail, Exception? inner = null) =>
        new(ErrorIds.RepositoryUnavailable, PgDrErrorCategory.ConnectionError, $"Repository '{repository}' cannot be reached: {detail}", repository, inner);

    public static PgDrRepositoryException AccessDenied(string repository, string detail, Exception? inner = null) =>
        new(ErrorIds.RepositoryAccessDenied, PgDrErrorCategory.PermissionDenied, $"Repository '{repository}' refused access: {detail}", repository, inner);

    public static PgDrRepositoryException NotFound(string repository, string detail, Exception? inner = null) =>
        new(ErrorIds.RepositoryNotFound, PgDrErrorCategory.ObjectNotFound, $"Repository '{repository}' does not exist: {detail}", repository, inner);

    public static PgDrRepositoryException Full(string repository, string detail, Exception? inner = null) =>
        new(ErrorIds.RepositoryFull, PgDrErrorCategory.WriteError, $"Repository '{repository}' is full: {detail}", repository, inner);

    public static PgDrRepositoryException Failed(string repository, string detail, Exception? inner = null) =>
        new(ErrorIds.RepositoryOperationFailed, PgDrErrorCategory.NotSpecified, $"Repository '{repository}': {detail}", repository, inner);

    public static PgDrRepositoryException InvalidConfig(string repository, string detail) =>
        new(ErrorIds.InvalidRepositoryConfig, PgDrErrorCategory.InvalidArgument, $"Repository '{repository}' is misconfigured: {detail}", repository);
}
