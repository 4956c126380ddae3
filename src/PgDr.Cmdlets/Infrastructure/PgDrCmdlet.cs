using System.Collections.Concurrent;
using System.Management.Automation;
using System.Reflection;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Progress;
using PgDr.Topology;

namespace PgDr.Cmdlets.Infrastructure;

/// <summary>
/// The one place that bridges PowerShell's pipeline thread and the async engine: it blocks on the engine
/// task, shows the engine's progress with WriteProgress from the pipeline thread while waiting, turns
/// StopProcessing (Ctrl+C) into cancellation, and PgDrException into an ErrorRecord with the stable id.
/// </summary>
public abstract class PgDrCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _cancellation = new();
    private readonly int _activityId = Math.Abs(Environment.TickCount % 100000) + 1;

    /// <summary>Cancelled when the user presses Ctrl+C or the pipeline stops.</summary>
    protected CancellationToken CancellationToken => _cancellation.Token;

    protected override void StopProcessing() => _cancellation.Cancel();

    /// <summary>Runs an engine operation to completion; failures go to WriteError (the pipeline goes on) and return false.</summary>
    protected bool TryRun<T>(Func<IProgress<PgDrProgress>, CancellationToken, Task<T>> operation, out T result)
    {
        try
        {
            result = Run(operation);
            return true;
        }
        catch (PgDrException ex)
        {
            WriteError(ToErrorRecord(ex));
            result = default!;
            return false;
        }
        catch (Exception ex) when (AssemblyLoadFailure(ex) is { } failure)
        {
            WriteError(ToErrorRecord(failure));
            result = default!;
            return false;
        }
    }

    /// <summary>Runs an engine operation to completion; a failure terminates the command (a failed precondition).</summary>
    protected T RunOrTerminate<T>(Func<IProgress<PgDrProgress>, CancellationToken, Task<T>> operation)
    {
        try
        {
            return Run(operation);
        }
        catch (PgDrException ex)
        {
            ThrowTerminatingError(ToErrorRecord(ex));
            throw; // not reached: ThrowTerminatingError always throws
        }
        catch (Exception ex) when (AssemblyLoadFailure(ex) is { } failure)
        {
            ThrowTerminatingError(ToErrorRecord(failure));
            throw; // not reached: ThrowTerminatingError always throws
        }
    }

    /// <summary>
    /// An engine assembly that cannot be loaded (a Dependencies folder left incomplete, a file damaged) surfaces as the
    /// runtime's FileNotFoundException, FileLoadException or BadImageFormatException, possibly inside a
    /// TypeInitializationException. It becomes an error with a stable id like any other, so -ErrorAction decides
    /// what happens to it instead of it escaping as an unexpected terminating error.
    /// </summary>
    private static PgDrException? AssemblyLoadFailure(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            var assembly = e switch
            {
                FileLoadException load => load.FileName,
                BadImageFormatException image => image.FileName,
                FileNotFoundException missing when missing.FileName?.Contains(", Version=", StringComparison.Ordinal) == true => missing.FileName,
                _ => null,
            };
            if (assembly is not null)
            {
                return new PgDrException(ErrorIds.ModuleLoadFailed, PgDrErrorCategory.NotInstalled,
                    $"PgDr could not load {assembly}: {e.Message} The module folder is incomplete or damaged; install it again.", assembly, e);
            }

            if (e is not TypeInitializationException and not TargetInvocationException)
            {
                return null;
            }
        }

        return null;
    }

    /// <summary>
    /// Runs a long engine operation that produces objects as it goes (the agent's events): each is written to the
    /// pipeline from the pipeline thread as soon as it comes; Ctrl+C, or a command downstream that stops the pipeline,
    /// cancels the operation, which then ends normally before the command returns. A failure terminates the command.
    /// </summary>
    protected void RunStreaming<TItem>(Func<Action<TItem>, CancellationToken, Task> operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        var items = new ConcurrentQueue<TItem>();
        var task = operation(items.Enqueue, CancellationToken);
        // WriteObject throws when a command downstream has all it wanted (Select-Object -First) or the pipeline failed.
        WhileRunning(task, () =>
        {
            while (items.TryDequeue(out var item))
            {
                WriteObject(item);
            }
        });

        try
        {
            task.GetAwaiter().GetResult();
        }
        catch (PgDrException ex)
        {
            ThrowTerminatingError(ToErrorRecord(ex));
        }
        catch (OperationCanceledException) when (CancellationToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
    }

    private T Run<T>(Func<IProgress<PgDrProgress>, CancellationToken, Task<T>> operation)
    {
        var reports = new ConcurrentQueue<PgDrProgress>();
        var progress = new QueueProgress(reports);
        var task = operation(progress, CancellationToken);
        var shown = false;

        // WriteProgress may only be called from the pipeline thread, so the engine's reports queue up here.
        WhileRunning(task, () => shown |= Drain(reports));
        if (shown)
        {
            WriteProgress(new ProgressRecord(_activityId, "PgDr", "Done") { RecordType = ProgressRecordType.Completed });
        }

        try
        {
            return task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (CancellationToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
    }

    /// <summary>
    /// Calls <paramref name="pump"/> from the pipeline thread until the operation has finished, and once more after.
    /// When the pipeline stops (Ctrl+C, or Select-Object -First downstream), PowerShell makes every Write* call throw
    /// PipelineStoppedException; the command must still not return before the operation, cancelled, has finished its
    /// own way out (servers stopped, a half-made copy removed, a replaced directory put back, an agent's lease parked),
    /// or the prompt comes back while that clean-up is still under way.
    /// </summary>
    private void WhileRunning(Task task, Action pump)
    {
        var finished = false;
        try
        {
            while (!((IAsyncResult)task).AsyncWaitHandle.WaitOne(250))
            {
                pump();
            }

            pump();
            finished = true;
        }
        finally
        {
            if (!finished)
            {
                _cancellation.Cancel();
                ((IAsyncResult)task).AsyncWaitHandle.WaitOne();
            }
        }
    }

    private bool Drain(ConcurrentQueue<PgDrProgress> reports)
    {
        PgDrProgress? last = null;
        while (reports.TryDequeue(out var report))
        {
            last = report;
        }

        if (last is null)
        {
            return false;
        }

        WriteProgress(new ProgressRecord(_activityId, last.Activity, last.Status) { PercentComplete = last.PercentComplete });
        return true;
    }

    /// <summary>An instance with a PSCredential and TLS settings applied where given (paths resolved as PowerShell sees them).</summary>
    protected PgInstance ApplyConnectionOptions(
        PgInstance instance, PSCredential? credential, PgSslMode? sslMode, string? rootCertificate, string? clientCertificate = null, string? clientKey = null)
    {
        ArgumentNullException.ThrowIfNull(instance);
        var resolved = credential is null ? instance : instance.WithCredential(credential.UserName, credential.GetNetworkCredential().Password);
        return resolved.WithTls(sslMode, ProviderPath(rootCertificate), ProviderPath(clientCertificate), ProviderPath(clientKey));

        string? ProviderPath(string? path) => path is null ? null : GetUnresolvedProviderPathFromPSPath(path);
    }

    /// <summary>A WAL position given as X/X, or null; a malformed one terminates the cmdlet with <paramref name="errorId"/>.</summary>
    protected PgLsn? ParseLsnOrTerminate(string? text, string errorId)
    {
        try
        {
            return text is null ? null : PgLsn.Parse(text);
        }
        catch (FormatException ex)
        {
            ThrowTerminatingError(new ErrorRecord(ex, errorId, ErrorCategory.InvalidArgument, text));
            return null;
        }
    }

    /// <summary>The ErrorRecord for an engine error: id, category (same names as ErrorCategory) and target object.</summary>
    public static ErrorRecord ToErrorRecord(PgDrException ex)
    {
        var category = Enum.TryParse<ErrorCategory>(ex.Category.ToString(), out var parsed) ? parsed : ErrorCategory.NotSpecified;
        return new ErrorRecord(ex, ex.ErrorId, category, ex.Target);
    }

    public void Dispose()
    {
        _cancellation.Dispose();
        GC.SuppressFinalize(this);
    }

    private sealed class QueueProgress(ConcurrentQueue<PgDrProgress> queue) : IProgress<PgDrProgress>
    {
        public void Report(PgDrProgress value) => queue.Enqueue(value);
    }
}
