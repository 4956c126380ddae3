using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace PgDr.Archive.Server;

/// <summary>How a pgdr executable was built, which decides what each archive_command call costs.</summary>
public enum PgDrBuildKind
{
    /// <summary>Not a pgdr this host can judge: not found here, or not a .NET program at all.</summary>
    Unknown,

    /// <summary>Compiled ahead of time (NativeAOT): starts in a few milliseconds, the build PostgreSQL should run.</summary>
    NativeAot,

    /// <summary>
    /// The framework-dependent build (an apphost or <c>dotnet pgdr.dll</c> over the shared runtime): it JIT-compiles at
    /// every start, about 60-125 ms of CPU per archive_command call, which makes archiving several times slower
    /// (docs/performance.md). Built only where NativeAOT cannot be.
    /// </summary>
    FrameworkDependent,
}

/// <summary>Tells the fast pgdr from the slow one: the running process by asking the runtime, another file by reading it.</summary>
public static class PgDrBuild
{
    /// <summary>What the reason, the warning and the cmdlets call the framework-dependent build.</summary>
    public const string SlowBuildReason = "pgdr is the slow build";

    /// <summary>
    /// The build of the running process. A NativeAOT program cannot generate code at run time, so the runtime itself says
    /// which one this is; in the PowerShell module this is the engine's host (pwsh), never a pgdr.
    /// </summary>
    public static PgDrBuildKind Current => RuntimeFeature.IsDynamicCodeSupported ? PgDrBuildKind.FrameworkDependent : PgDrBuildKind.NativeAot;

    /// <summary>
    /// The one line the framework-dependent pgdr writes to stderr when it runs as archive_command (PostgreSQL puts it in
    /// the server log), so the cost is seen where archiving is looked at.
    /// </summary>
    public const string SlowBuildWarning =
        "pgdr: warning: " + SlowBuildReason + " (framework-dependent, ~100 ms of start-up per WAL segment): install the NativeAOT pgdr "
        + "(the pgdr Debian package, Install-PgDrExecutable, or ./build.sh package) and point archive_command at it.";

    /// <summary>
    /// The build of the pgdr at <paramref name="path"/>, read without running it (the path comes from archive_command,
    /// which whoever can change the server's settings controls). A NativeAOT executable carries its compiled managed code
    /// in a section of its own (ELF <c>__managedcode</c>, PE <c>.managed</c>); a framework-dependent one is a small
    /// apphost that loads the <c>&lt;name&gt;.dll</c> beside it, or is <c>dotnet</c> itself.
    /// </summary>
    public static PgDrBuildKind Inspect(string? path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            return PgDrBuildKind.Unknown;
        }

        var name = Path.GetFileNameWithoutExtension(path);
        if (name == "dotnet")
        {
            return PgDrBuildKind.FrameworkDependent;
        }

        try
        {
            if (!File.Exists(path))
            {
                return PgDrBuildKind.Unknown;
            }

            if (HasManagedCodeSection(path))
            {
                return PgDrBuildKind.NativeAot;
            }

            var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
            return File.Exists(Path.Combine(directory, name + ".dll")) ? PgDrBuildKind.FrameworkDependent : PgDrBuildKind.Unknown;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return PgDrBuildKind.Unknown;
        }
    }

    private static bool HasManagedCodeSection(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> header = stackalloc byte[64];
        if (file.Read(header) < header.Length)
        {
            return false;
        }

        if (header[..4].SequenceEqual("\u007fELF"u8))
        {
            return ElfSectionNames(file, header).Contains("__managedcode");
        }

        if (header[..2].SequenceEqual("MZ"u8))
        {
            return PeSectionNames(file, BinaryPrimitives.ReadInt32LittleEndian(header[60..])).Contains(".managed");
        }

        return false;
    }

    /// <summary>Section names of a 64-bit little-endian ELF file (what pgdr is built as); empty for anything else.</summary>
    private static HashSet<string> ElfSectionNames(FileStream file, ReadOnlySpan<byte> header)
    {
        const int Elf64 = 2, LittleEndian = 1;
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (header[4] != Elf64 || header[5] != LittleEndian)
        {
            return names;
        }

        var sectionTable = BinaryPrimitives.ReadInt64LittleEndian(header[40..]);
        var entrySize = BinaryPrimitives.ReadUInt16LittleEndian(header[58..]);
        var count = BinaryPrimitives.ReadUInt16LittleEndian(header[60..]);
        var namesIndex = BinaryPrimitives.ReadUInt16LittleEndian(header[62..]);
        if (entrySize < 64 || count == 0 || namesIndex >= count || sectionTable <= 0 || sectionTable + ((long)entrySize * count) > file.Length)
        {
            return names;
        }

        var table = new byte[entrySize * count];
        file.Position = sectionTable;
        file.ReadExactly(table);
        var stringsEntry = table.AsSpan(namesIndex * entrySize, entrySize);
        var stringsOffset = BinaryPrimitives.ReadInt64LittleEndian(stringsEntry[24..]);
        var stringsSize = BinaryPrimitives.ReadInt64LittleEndian(stringsEntry[32..]);
        if (stringsOffset <= 0 || stringsSize is <= 0 or > 1 << 20 || stringsOffset + stringsSize > file.Length)
        {
            return names;
        }

        var strings = new byte[stringsSize];
        file.Position = stringsOffset;
        file.ReadExactly(strings);
        for (var i = 0; i < count; i++)
        {
            var nameOffset = BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(i * entrySize));
            if (nameOffset < strings.Length)
            {
                var rest = strings.AsSpan((int)nameOffset);
                var end = rest.IndexOf((byte)0);
                names.Add(Encoding.ASCII.GetString(end < 0 ? rest : rest[..end]));
            }
        }

        return names;
    }

    /// <summary>Section names of a PE file (pgdr.exe on Windows).</summary>
    private static HashSet<string> PeSectionNames(FileStream file, int peHeaderOffset)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (peHeaderOffset <= 0 || peHeaderOffset + 24 > file.Length)
        {
            return names;
        }

        Span<byte> header = stackalloc byte[24];
        file.Position = peHeaderOffset;
        file.ReadExactly(header);
        if (!header[..4].SequenceEqual("PE\0\0"u8))
        {
            return names;
        }

        var count = BinaryPrimitives.ReadUInt16LittleEndian(header[6..]);
        var optionalHeaderSize = BinaryPrimitives.ReadUInt16LittleEndian(header[20..]);
        var table = new byte[40 * count];
        file.Position = peHeaderOffset + 24 + optionalHeaderSize;
        if (file.Position + table.Length > file.Length)
        {
            return names;
        }

        file.ReadExactly(table);
        for (var i = 0; i < count; i++)
        {
            var name = table.AsSpan(i * 40, 8);
            var end = name.IndexOf((byte)0);
            names.Add(Encoding.ASCII.GetString(end < 0 ? name : name[..end]));
        }

        return names;
    }
}
