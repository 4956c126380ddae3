namespace PgDr.Hosting;

/// <summary>Copies a file so that no reader ever sees half of it: written aside, made durable, then renamed over the target.</summary>
internal static class DurableFile
{
    /// <summary>
    /// Copies <paramref name="source"/> to <paramref name="temporary"/> (a new name in the target's directory, so the rename
    /// stays on one filesystem), flushes it to disk, gives it <paramref name="mode"/> where there is one, and renames it
    /// over <paramref name="target"/>. On any failure the temporary file is removed and the target is as it was.
    /// <paramref name="flushToDisk"/> false skips the fsync where the reader makes the file durable itself (PostgreSQL's
    /// RECOVERYXLOG and RECOVERYHISTORY).
    /// </summary>
    public static async Task CopyAsync(string source, string target, string temporary, UnixFileMode? mode, bool flushToDisk, CancellationToken cancellationToken)
    {
        try
        {
            var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
            await using (input.ConfigureAwait(false))
            {
                var output = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
                await using (output.ConfigureAwait(false))
                {
                    await input.CopyToAsync(output, cancellationToken).ConfigureAwait(false);
                    await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                    if (flushToDisk)
                    {
                        output.Flush(flushToDisk: true);
                    }
                }
            }

            if (mode is { } unixMode && !OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temporary, unixMode);
            }

            File.Move(temporary, target, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }
}
