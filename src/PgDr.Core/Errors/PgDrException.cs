namespace PgDr.Errors;

/// <summary>
/// Every failure the engine reports on purpose. <see cref="ErrorId"/> is stable (scripts and tests match
/// on it, never on the message); the message is one clear sentence and never contains a secret.
/// </summary>
public class PgDrException : Exception
{
    public PgDrException(string errorId, PgDrErrorCategory category, string message, object? target = null, Exception? innerException = null)
        : base(message, innerException)
    {
        ErrorId = errorId;
        Category = category;
        Target = target;
    }

    /// <summary>Stable identifier, one of <see cref="ErrorIds"/>.</summary>
    public string ErrorId { get; }

    public PgDrErrorCategory Category { get; }

    /// <summary>The object the error is about (an instance, a slot name, a path), for ErrorRecord.TargetObject.</summary>
    public object? Target { get; }
}

/// <summary>The node could not be reached, or refused the credentials.</summary>
public sealed class PgDrConnectionException(string errorId, PgDrErrorCategory category, string message, object? target = null, Exception? innerException = null)
    : PgDrException(errorId, category, message, target, innerException);

/// <summary>The named thing (slot, node, sandbox) does not exist.</summary>
public sealed class PgDrNotFoundException(string errorId, string message, object? target = null)
    : PgDrException(errorId, PgDrErrorCategory.ObjectNotFound, message, target);

/// <summary>An argument was malformed; nothing was attempted.</summary>
public sealed class PgDrArgumentException(string errorId, string message, object? target = null)
    : PgDrException(errorId, PgDrErrorCategory.InvalidArgument, message, target);

/// <summary>The request is well formed but the node or system is in a state that does not allow it.</summary>
public sealed class PgDrInvalidOperationException(string errorId, string message, object? target = null, Exception? innerException = null)
    : PgDrException(errorId, PgDrErrorCategory.InvalidOperation, message, target, innerException);
