namespace PgDr.Errors;

/// <summary>
/// What kind of failure an error is. The names match PowerShell's ErrorCategory members one to one,
/// so the cmdlet layer maps them by name without the engine referencing PowerShell.
/// </summary>
public enum PgDrErrorCategory
{
    NotSpecified,
    InvalidArgument,
    InvalidData,
    InvalidOperation,
    ObjectNotFound,
    ResourceExists,
    ResourceBusy,
    ResourceUnavailable,
    ConnectionError,
    AuthenticationError,
    PermissionDenied,
    OperationTimeout,
    NotInstalled,
    WriteError,
    ReadError,
    SecurityError,
}
