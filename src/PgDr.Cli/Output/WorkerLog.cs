namespace PgDr.Cli.Output;

/// <summary>
/// The log file of a detached worker. Workers have no terminal and their standard streams lead nowhere (they must not
/// hold PostgreSQL's pipes), so what they did goes here. Started afresh once it passes 1 MiB, so it cannot fill a disk.
/// </summary>
internal static class WorkerLog
{
    private const long MaxBytes = 1 << 20;

    public static StreamWriter Open(string path)
    {
        var append = !File.Exists(path) || new FileInfo(path).Length < MaxBytes;
        var stream = new FileStream(path, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        return new StreamWriter(stream) { AutoFlush = true };
    }
}
