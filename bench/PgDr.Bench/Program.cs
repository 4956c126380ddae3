// pgdr-bench: drives the PgDr archive engine in-process over a WAL corpus, to measure what the engine itself costs
// (no process start-up), where its time goes, and how much memory a push/fetch takes.
//
//   pgdr-bench push   <repoDir> <keyFile|-> <compression> <parallel> <file>...
//   pgdr-bench fetch  <repoDir> <keyFile|-> <parallel> <destDir> <name>...
//   pgdr-bench stages <keyFile> <compression> <file>...        (single thread, from the page cache, no disk writes)
//   pgdr-bench commit-latency [commits] [one-way ms]          (synchronous replication's cost per commit: CommitLatency.cs)
//
// Output: one line of "key=value" pairs per run on stdout (parsed by bench/wal-archive.sh).
using System.Diagnostics;
using System.Security.Cryptography;
using System.Threading.Channels;
using PgDr.Archive.Compression;
using PgDr.Archive.Encryption;
using PgDr.Archive.Format;
using PgDr.Archive.Repositories;

namespace PgDr.Bench;

internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        try
        {
            return args.FirstOrDefault() switch
            {
                "push" => await PushAsync(args[1], args[2], args[3], int.Parse(args[4]), args[5..]),
                "fetch" => await FetchAsync(args[1], args[2], int.Parse(args[3]), args[4], args[5..]),
                "stages" => await StagesAsync(args[1], args[2], args[3..]),
                "commit-latency" => await CommitLatency.RunAsync(args[1..]),
                _ => Usage(),
            };
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"pgdr-bench: {ex.GetType().Name}: {ex.Message}");
            return 2;
        }
    }

    private static int Usage()
    {
        Console.Error.WriteLine("usage: pgdr-bench push|fetch|stages|commit-latency ... (see Program.cs)");
        return 64;
    }

    private static ArchiveKey? Key(string keyFile) => keyFile == "-" ? null : ArchiveKey.FromFile(keyFile);

    private static string ObjectKeyOf(string name) =>
        name.Length == 24 ? $"bench/wal/{name[..16]}/{name}" : $"bench/other/{name}";

    // push: read -> compress -> encrypt -> repository (temp file, fsync, link, dir fsync), `parallel` files at a time.
    private static async Task<int> PushAsync(string repoDir, string keyFile, string compression, int parallel, string[] files)
    {
        using var key = Key(keyFile);
        var spec = CompressionSpec.Parse(compression);
        await using var repo = new FileSystemArchiveRepository("bench", repoDir);
        long plain = 0, stored = 0;
        var sw = Stopwatch.StartNew();
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (file, ct) =>
        {
            var name = Path.GetFileName(file);
            var (outcome, summary) = await PushOneAsync(repo, file, name, spec, key, ct);
            if (outcome != PutOutcome.Created)
            {
                throw new InvalidOperationException($"{name}: {outcome}");
            }

            Interlocked.Add(ref plain, summary.PlaintextLength);
            Interlocked.Add(ref stored, summary.StoredLength);
        });
        sw.Stop();
        Report("push", files.Length, plain, stored, sw.Elapsed);
        return 0;
    }

    internal static async Task<(PutOutcome, ArchiveObjectSummary)> PushOneAsync(
        IArchiveRepository repo, string file, string name, CompressionSpec spec, ArchiveKey? key, CancellationToken ct)
    {
        await using var input = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
        var pipe = new ChunkPipe(capacity: 4);
        var writer = Task.Run(async () =>
        {
            try
            {
                var s = await ArchiveObjectWriter.WriteAsync(input, pipe.Writer, new ArchiveObjectOptions { Name = name, Compression = spec, Key = key }, ct);
                pipe.Writer.Complete(null);
                return s;
            }
            catch (Exception ex)
            {
                pipe.Writer.Complete(ex);
                throw;
            }
        }, ct);
        var outcome = await repo.PutIfAbsentAsync(ObjectKeyOf(name), pipe.Reader, ct);
        return (outcome, await writer);
    }

    // fetch: repository -> verify/decrypt/decompress -> temp file next to the target, fsync, rename.
    private static async Task<int> FetchAsync(string repoDir, string keyFile, int parallel, string destDir, string[] names)
    {
        using var key = Key(keyFile);
        await using var repo = new FileSystemArchiveRepository("bench", repoDir);
        long plain = 0, stored = 0;
        var sw = Stopwatch.StartNew();
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (name, ct) =>
        {
            await using var archived = await repo.OpenReadAsync(ObjectKeyOf(name), ct) ?? throw new FileNotFoundException(name);
            var target = Path.Combine(destDir, name);
            var temp = target + ".pgdr-bench-tmp";
            ArchiveObjectSummary summary;
            await using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                summary = await ArchiveObjectReader.ReadAsync(archived, output, key, ct);
                output.Flush(flushToDisk: true);
            }

            File.Move(temp, target);
            Interlocked.Add(ref plain, summary.PlaintextLength);
            Interlocked.Add(ref stored, summary.StoredLength);
        });
        sw.Stop();
        Report("fetch", names.Length, plain, stored, sw.Elapsed);
        return 0;
    }

    // stages: where the time of one push goes, each stage alone over the same (page-cached) files, one thread.
    private static async Task<int> StagesAsync(string keyFile, string compression, string[] files)
    {
        using var key = ArchiveKey.FromFile(keyFile);
        var spec = CompressionSpec.Parse(compression);
        var codec = CompressionCodec.For(spec.Algorithm);
        var buffer = new byte[128 * 1024];
        long total = files.Sum(f => new FileInfo(f).Length);

        async Task Stage(string stage, Func<string, Task> body)
        {
            // one warm-up file, then all of them, best of 3 passes (the machine is shared)
            await body(files[0]);
            var best = TimeSpan.MaxValue;
            for (var pass = 0; pass < 3; pass++)
            {
                var sw = Stopwatch.StartNew();
                foreach (var f in files)
                {
                    await body(f);
                }

                sw.Stop();
                best = sw.Elapsed < best ? sw.Elapsed : best;
            }

            Report("stage:" + stage, files.Length, total, 0, best);
        }

        await Stage("read", async f =>
        {
            await using var s = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.SequentialScan);
            while (await s.ReadAsync(buffer) > 0) { }
        });
        await Stage("read+sha256", async f =>
        {
            await using var s = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.SequentialScan);
            using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            int n;
            while ((n = await s.ReadAsync(buffer)) > 0) { h.AppendData(buffer, 0, n); }
            h.GetHashAndReset();
        });
        await Stage("read+xxh128", async f =>
        {
            await using var s = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.SequentialScan);
            var h = new System.IO.Hashing.XxHash128();
            int n;
            while ((n = await s.ReadAsync(buffer)) > 0) { h.Append(buffer.AsSpan(0, n)); }
            h.GetCurrentHash();
        });
        await Stage("read+compress", async f =>
        {
            await using var s = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.SequentialScan);
            await using var c = codec.CreateCompressor(Stream.Null, spec, leaveOpen: true);
            int n;
            while ((n = await s.ReadAsync(buffer)) > 0) { await c.WriteAsync(buffer.AsMemory(0, n)); }
        });
        await Stage("writer-unencrypted (compress+xxh128)", async f =>
        {
            await using var s = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.SequentialScan);
            await ArchiveObjectWriter.WriteAsync(s, Stream.Null, new ArchiveObjectOptions { Name = Path.GetFileName(f), Compression = spec }, default);
        });
        await Stage("writer-encrypted (compress+xxh128+aes-gcm)", async f =>
        {
            await using var s = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.SequentialScan);
            await ArchiveObjectWriter.WriteAsync(s, Stream.Null, new ArchiveObjectOptions { Name = Path.GetFileName(f), Compression = spec, Key = key }, default);
        });
        await Stage("writer-encrypted, checksum sha256 (compress+sha256+aes-gcm)", async f =>
        {
            await using var s = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.SequentialScan);
            await ArchiveObjectWriter.WriteAsync(s, Stream.Null, new ArchiveObjectOptions { Name = Path.GetFileName(f), Compression = spec, Key = key, Checksum = ContentChecksumAlgorithm.Sha256 }, default);
        });

        // Reading back: archive every file into memory once, then decode from memory.
        var objects = new List<byte[]>();
        foreach (var f in files)
        {
            await using var s = new FileStream(f, FileMode.Open, FileAccess.Read);
            var ms = new MemoryStream();
            await ArchiveObjectWriter.WriteAsync(s, ms, new ArchiveObjectOptions { Name = Path.GetFileName(f), Compression = spec, Key = key }, default);
            objects.Add(ms.ToArray());
        }

        Console.Out.WriteLine($"ratio={objects.Sum(o => (long)o.Length) / (double)total:F4}");
        var index = new Dictionary<string, byte[]>();
        var compressed = new Dictionary<string, byte[]>();
        for (var i = 0; i < files.Length; i++)
        {
            index[files[i]] = objects[i];
            var ms = new MemoryStream();
            await using (var c = codec.CreateCompressor(ms, spec, leaveOpen: true))
            {
                await using var s = new FileStream(files[i], FileMode.Open, FileAccess.Read);
                await s.CopyToAsync(c);
            }

            compressed[files[i]] = ms.ToArray();
        }

        await Stage("decompress", async f =>
        {
            // the bare compressed stream from memory: codec cost alone
            await using var d = codec.CreateDecompressor(new MemoryStream(compressed[f]), leaveOpen: false);
            while (await d.ReadAsync(buffer) > 0) { }
        });
        await Stage("reader-encrypted (decrypt+decompress+xxh128)", async f =>
        {
            await ArchiveObjectReader.ReadAsync(new MemoryStream(index[f]), Stream.Null, key, default);
        });
        return 0;
    }

    private static void Report(string what, int count, long plain, long stored, TimeSpan elapsed)
    {
        var s = elapsed.TotalSeconds;
        Console.Out.WriteLine(
            $"op={what} segments={count} bytes={plain} stored={stored} seconds={s:F3} segs_per_s={count / s:F2} mb_per_s={plain / s / 1e6:F1}");
    }
}

/// <summary>
/// A bounded in-memory pipe between the archive writer (producer) and the repository's put (consumer): memory stays at
/// capacity x chunk whatever the file size, and both run concurrently.
/// </summary>
internal sealed class ChunkPipe
{
    private readonly Channel<(byte[] Buffer, int Count)> _channel;

    public ChunkPipe(int capacity)
    {
        _channel = Channel.CreateBounded<(byte[], int)>(new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true });
        Writer = new WriterStream(_channel.Writer);
        Reader = new ReaderStream(_channel.Reader);
    }

    public WriterStream Writer { get; }

    public ReaderStream Reader { get; }

    internal sealed class WriterStream(ChannelWriter<(byte[], int)> writer) : Stream
    {
        private const int BlockSize = 256 * 1024;
        private byte[] _block = System.Buffers.ArrayPool<byte>.Shared.Rent(BlockSize);
        private int _filled;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (buffer.Length > 0)
            {
                var n = Math.Min(buffer.Length, BlockSize - _filled);
                buffer[..n].CopyTo(_block.AsMemory(_filled));
                _filled += n;
                buffer = buffer[n..];
                if (_filled == BlockSize)
                {
                    await writer.WriteAsync((_block, _filled), cancellationToken).ConfigureAwait(false);
                    _block = System.Buffers.ArrayPool<byte>.Shared.Rent(BlockSize);
                    _filled = 0;
                }
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public void Complete(Exception? error)
        {
            if (error is null && _filled > 0)
            {
                // The channel is bounded; finishing the last block may wait for the reader.
                writer.WriteAsync((_block, _filled)).AsTask().GetAwaiter().GetResult();
                _filled = 0;
            }

            writer.TryComplete(error);
        }

        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    internal sealed class ReaderStream(ChannelReader<(byte[], int)> reader) : Stream
    {
        private byte[]? _current;
        private int _offset, _count;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (_current is null || _offset == _count)
            {
                if (!await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    await reader.Completion.ConfigureAwait(false); // rethrows the writer's error
                    return 0;
                }

                if (reader.TryRead(out var item))
                {
                    if (_current is not null)
                    {
                        System.Buffers.ArrayPool<byte>.Shared.Return(_current);
                    }

                    (_current, _count) = item;
                    _offset = 0;
                }
            }

            var n = Math.Min(buffer.Length, _count - _offset);
            _current.AsMemory(_offset, n).CopyTo(buffer);
            _offset += n;
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
