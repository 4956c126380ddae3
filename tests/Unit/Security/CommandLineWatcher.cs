namespace PgDr.Tests.Security;

/// <summary>
/// Samples every process's argument list (/proc/*/cmdline) in the background while a test runs: what ps, top and any
/// other local user could see. Short-lived processes (archive_command's pgdr) are caught by sampling every few ms.
/// </summary>
public sealed class CommandLineWatcher : IAsyncDisposable
{
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public CommandLineWatcher() => _loop = Task.Run(LoopAsync);

    /// <summary>Every distinct argument list seen so far, arguments joined by spaces.</summary>
    public IReadOnlyList<string> Seen
    {
        get
        {
            lock (_seen)
            {
                return [.. _seen];
            }
        }
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            foreach (var directory in Directory.EnumerateDirectories("/proc"))
            {
                if (!char.IsAsciiDigit(Path.GetFileName(directory)[0]))
                {
                    continue;
                }

                try
                {
                    var text = (await File.ReadAllTextAsync(Path.Combine(directory, "cmdline"))).Replace('\0', ' ').Trim();
                    if (text.Length > 0)
                    {
                        lock (_seen)
                        {
                            _seen.Add(text);
                        }
                    }
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // The process ended between the listing and the read.
                }
            }

            try
            {
                await Task.Delay(5, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
