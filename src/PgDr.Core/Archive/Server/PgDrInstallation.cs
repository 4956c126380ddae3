namespace PgDr.Archive.Server;

/// <summary>What installing pgdr changes at its path.</summary>
public enum PgDrInstallAction
{
    /// <summary>Nothing was there: pgdr is written.</summary>
    Install,

    /// <summary>A different file was there: it is replaced at once (renamed over), so a running archive_command keeps the old one.</summary>
    Replace,

    /// <summary>The same pgdr is already there: nothing to do.</summary>
    None,
}

/// <summary>A pgdr installed (or, with -WhatIf, to be installed) where PostgreSQL's service account can run it.</summary>
public sealed class PgDrInstallation
{
    /// <summary>The installed pgdr, as archive_command and restore_command will name it.</summary>
    public required string Path { get; init; }

    /// <summary>The file it was copied from.</summary>
    public required string Source { get; init; }

    /// <summary>The version of PgDr it was built with.</summary>
    public required string Version { get; init; }

    public PgDrBuildKind Build { get; init; }

    public PgDrInstallAction Action { get; init; }

    /// <summary>False for -WhatIf: nothing was written.</summary>
    public bool Applied { get; init; }

    public long Bytes { get; init; }

    /// <summary>The OS account that was checked to be able to run it.</summary>
    public required string ServiceAccount { get; init; }

    /// <summary>The change, as -WhatIf describes it: path: old -> new.</summary>
    public string Describe() => Action switch
    {
        PgDrInstallAction.Install => $"{Path}: (none) -> pgdr {Version} ({Build}) from {Source}",
        PgDrInstallAction.Replace => $"{Path}: another file -> pgdr {Version} ({Build}) from {Source}",
        _ => $"{Path}: already pgdr {Version} ({Build}), unchanged",
    };

    public override string ToString() => Describe();
}
