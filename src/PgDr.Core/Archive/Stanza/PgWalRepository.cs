using PgDr.Connections;

namespace PgDr.Archive.Stanza;

/// <summary>
/// One configured repository as New-PgWalRepository (pgdr repo create) leaves it, or, with -WhatIf, finds it: its
/// store, the stanza's identity, and whether the account that will archive into it can.
/// </summary>
public sealed class PgWalRepository
{
    /// <summary>The node whose cluster the stanza belongs to.</summary>
    public required PgInstance Instance { get; init; }

    public string NodeName => Instance.Name;

    /// <summary>The configured name (e.g. region-b).</summary>
    public required string Repository { get; init; }

    /// <summary>filesystem, s3 or azure.</summary>
    public required string Type { get; init; }

    /// <summary>The directory, or the bucket or container (and prefix) with its endpoint.</summary>
    public required string Location { get; init; }

    public required string Stanza { get; init; }

    /// <summary>The cluster the stanza belongs to (its system identifier).</summary>
    public required string SystemIdentifier { get; init; }

    public int? PgMajorVersion { get; init; }

    /// <summary>The directory, bucket or container was created now (with -WhatIf: would be).</summary>
    public bool StoreCreated { get; init; }

    /// <summary>The stanza's identity was written now (with -WhatIf: would be); false when it was there and names this cluster.</summary>
    public bool IdentityCreated { get; init; }

    /// <summary>filesystem: the OS account that owns the directory and must write into it (the one PostgreSQL runs as).</summary>
    public string? Owner { get; init; }

    /// <summary>
    /// The account that archives can write there: for a directory, checked as that OS account; for a bucket or
    /// container, an object was written, read back and deleted with the credentials the configuration names. False
    /// with -WhatIf (nothing was checked).
    /// </summary>
    public bool AccessChecked { get; init; }

    /// <summary>False for -WhatIf: nothing was created or written.</summary>
    public bool Applied { get; init; }

    /// <summary>What was done, or with -WhatIf would be, in order (for -WhatIf and -Verbose).</summary>
    public required IReadOnlyList<string> Actions { get; init; }

    public override string ToString() => $"{Repository} ({Location}): stanza {Stanza} of cluster {SystemIdentifier}{(Applied ? string.Empty : " (what if)")}";
}
