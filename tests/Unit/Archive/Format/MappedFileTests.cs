using PgDr.Archive.Format;

namespace PgDr.Tests.Archive.Format;

/// <summary>
/// The mapping a push reads a segment through covers only what has been read so far (Linux maps a large page-cache
/// folio whole, but never past the end of a mapping), and what it returns are the file's bytes wherever the steps fall.
/// </summary>
public sealed class MappedFileTests : IDisposable
{
    private const int Step = 256 * 1024;
    private readonly string _directory = Directory.CreateTempSubdirectory("pgdr-mapped-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void The_mapping_grows_with_the_reader_and_returns_the_files_bytes()
    {
        var content = ArchiveTestData.WalLike(8 * 1024 * 1024 + 100);
        var path = Path.Combine(_directory, "segment");
        File.WriteAllBytes(path, content);
        using var file = File.OpenHandle(path);

        using var mapped = MappedFile.Map(file, content.Length);
        Assert.Equal(0, MappedBytesOf(path));

        for (long offset = 0; offset < content.Length; offset += Step)
        {
            var length = (int)Math.Min(Step, content.Length - offset);
            Assert.True(mapped.Slice(offset, length).SequenceEqual(content.AsSpan((int)offset, length)), $"bytes at {offset} differ");
            var pageEnd = (offset + length + Environment.SystemPageSize - 1) / Environment.SystemPageSize * Environment.SystemPageSize;
            Assert.Equal(pageEnd, MappedBytesOf(path));
            mapped.ReleaseBefore(offset + length - 2 * 1024 * 1024);
        }

        // Released pages are mappings of the unchanged file: read again, they are the same bytes.
        Assert.True(mapped.Slice(0, Step).SequenceEqual(content.AsSpan(0, Step)));
    }

    [Fact]
    public void Disposing_unmaps_the_file()
    {
        var path = Path.Combine(_directory, "segment");
        File.WriteAllBytes(path, ArchiveTestData.WalLike(2 * 1024 * 1024));
        using var file = File.OpenHandle(path);

        var mapped = MappedFile.Map(file, 2 * 1024 * 1024);
        _ = mapped.Slice(0, 1024 * 1024).ToArray();
        Assert.Equal(1024 * 1024, MappedBytesOf(path));
        mapped.Dispose();

        Assert.Equal(0, MappedBytesOf(path));
        Assert.Throws<ObjectDisposedException>(() => mapped.Slice(0, 1));
    }

    /// <summary>The size of this process's mappings of <paramref name="path"/>, from /proc/self/maps.</summary>
    private static long MappedBytesOf(string path)
    {
        long total = 0;
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            if (!line.EndsWith(" " + path, StringComparison.Ordinal))
            {
                continue;
            }

            var range = line[..line.IndexOf(' ', StringComparison.Ordinal)].Split('-');
            total += Convert.ToInt64(range[1], 16) - Convert.ToInt64(range[0], 16);
        }

        return total;
    }
}
