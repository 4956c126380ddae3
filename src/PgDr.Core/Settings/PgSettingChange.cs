namespace PgDr.Settings;

/// <summary>One server setting as the Set- cmdlets see it: what it is, what it will be, and what applying it takes.</summary>
public sealed class PgSettingChange
{
    public required string Name { get; init; }

    /// <summary>The running value, as SHOW prints it.</summary>
    public required string OldValue { get; init; }

    /// <summary>The value PgDr sets (equal to <see cref="OldValue"/> when nothing changes).</summary>
    public required string NewValue { get; init; }

    public bool Changed => !string.Equals(OldValue, NewValue, StringComparison.Ordinal);

    /// <summary>pg_settings.context: postmaster settings take effect only after a restart.</summary>
    public required string Context { get; init; }

    public bool RequiresRestart => Changed && Context == "postmaster";

    public override string ToString() => Changed ? $"{Name}: {Show(OldValue)} -> {Show(NewValue)}{(RequiresRestart ? " (restart)" : string.Empty)}" : $"{Name}: {Show(OldValue)} (unchanged)";

    /// <summary>An empty value is shown as '' so that "off" and "nothing" read differently.</summary>
    private static string Show(string value) => value.Length == 0 ? "''" : value;
}
